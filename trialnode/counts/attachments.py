"""The records a count can be attached to, and who may attach one.

A count attached to a record is shown on that record's page (a study plan, a feasibility
inquiry's answer), so only someone who handles the record may put one there. The study is
known here; other apps register their record type in their ``AppConfig.ready``. An
unknown type is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MayAttach = Callable[[Any, str], bool]

_targets: dict[str, MayAttach] = {}


def register(target_type: str, may_attach: MayAttach) -> None:
    _targets[target_type] = may_attach


def may_attach(user: Any, target_type: str, target_id: str) -> bool:
    check = _targets.get(target_type)
    return check is not None and check(user, str(target_id))


def _may_attach_to_study(user: Any, target_id: str) -> bool:
    from trialnode.studies.models import Study

    return target_id.isdigit() and Study.objects.visible_to(user).filter(pk=int(target_id)).exists()


register("studies.study", _may_attach_to_study)
