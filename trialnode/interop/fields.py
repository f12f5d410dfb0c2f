"""Strict reading of values from registry records.

A value of the wrong type is an error naming the field, never stringified; text
longer than the field holds is an error, never cut; control characters (a NUL byte
from a broken export, say) are removed from text, since no registry field means them.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from trialnode.interop.upsert import RecordError

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return _("a number")
    if isinstance(value, dict):
        return _("an object")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, str):
        return _("text")
    return type(value).__name__


def _named(what: str, value: Any) -> dict[str, str]:
    return {"what": what, "kind": _kind(value)}


def clean(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)


def text(value: Any, what: str, limit: int) -> str:
    """Text of at most ``limit`` characters ("" when absent)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(_("%(what)s must be text, not %(kind)s") % _named(what, value))
    value = clean(value).strip()
    if len(value) > limit:
        raise RecordError(
            _("%(what)s is %(length)d characters long; at most %(limit)d fit")
            % {"what": what, "length": len(value), "limit": limit}
        )
    return value


def texts(value: Any, what: str, limit: int) -> list[str]:
    """A list of texts (an absent list is empty); empty entries are left out."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(_("%(what)s must be a list, not %(kind)s") % _named(what, value))
    out = [text(item, what, limit) for item in value]
    return [item for item in out if item]


def obj(value: Any, what: str) -> dict[str, Any]:
    """An object (an absent one is empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(_("%(what)s must be an object, not %(kind)s") % _named(what, value))
    return value


def objs(value: Any, what: str) -> list[dict[str, Any]]:
    """A list of objects (an absent list is empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(_("%(what)s must be a list, not %(kind)s") % _named(what, value))
    for item in value:
        if not isinstance(item, dict):
            raise RecordError(
                _("each of %(what)s must be an object, not %(kind)s") % _named(what, item)
            )
    return value


def whole_number(value: Any, what: str, *, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise RecordError(
            _("%(what)s must be a whole number, not %(value)s")
            % {"what": what, "value": f"{value!r:.40}"}
        )
    number = int(value)
    if not 0 <= number <= maximum:
        raise RecordError(
            _("%(what)s %(number)d is outside 0–%(maximum)d")
            % {"what": what, "number": number, "maximum": maximum}
        )
    return number


def flag(value: Any, what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RecordError(_("%(what)s must be true or false, not %(kind)s") % _named(what, value))
    return value
