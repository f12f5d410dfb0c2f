"""Warnings before a stage's deadline and escalations after it, sent once per stage
period to the staff of the data holder's region (run daily: ``trialnode manage
datarequest_deadlines``, or as the background task ``deadlines_check``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.datarequests import clock
from trialnode.datarequests.models import DataRequest, DeadlineNotice, Stage, StagePeriod
from trialnode.datarequests.rules import mail, staff_addresses
from trialnode.organisations.models import Role

STAGE_ROLES: dict[str, tuple[str, ...]] = {
    Stage.SUBMITTED: (Role.CASE_OFFICER,),
    Stage.PREQUALIFICATION: (Role.CASE_OFFICER, Role.LEGAL_REVIEWER, Role.DATA_ENGINEER),
    Stage.DECISION: (Role.CASE_OFFICER,),
    Stage.EXTRACTION: (Role.CASE_OFFICER, Role.DATA_ENGINEER),
    Stage.DISCLOSURE_REVIEW: (Role.CASE_OFFICER, Role.DATA_ENGINEER),
}


@dataclass(frozen=True)
class NoticeRun:
    warnings: int
    escalations: int


def _send(case: DataRequest, period: StagePeriod, kind: str, due: dt.date) -> None:
    roles: tuple[str, ...] = STAGE_ROLES.get(case.stage, (Role.CASE_OFFICER,))
    if kind == DeadlineNotice.Kind.ESCALATION:
        roles = (*roles, Role.NODE_ADMIN)
    recipients = staff_addresses(case, *roles)
    label = DeadlineNotice.Kind(kind).label
    with transaction.atomic(), because(f"{label}: {case.get_stage_display()} {due}"):
        DeadlineNotice.objects.create(
            period=period,
            kind=kind,
            due=due,
            recipients=", ".join(recipients),
            sent_at=timezone.now(),
        )
        mail(
            recipients,
            f"{case.reference}: {label} ({case.get_stage_display()}, {due})",
            _("The stage “%(stage)s” of %(reference)s is due on %(due)s.")
            % {"stage": case.get_stage_display(), "reference": case.reference, "due": due},
        )


def deadlines_check(*, today: dt.date | None = None) -> NoticeRun:
    today = today or clock.today()
    warn_within = clock.warning_days()
    warnings = escalations = 0
    cases = DataRequest.objects.filter(stage__in=list(STAGE_ROLES)).select_related("data_holder")
    for case in cases.prefetch_related("periods__notices"):
        periods = sorted(
            (p for p in case.periods.all() if p.version == case.version),
            key=lambda p: (p.started_at, p.pk),
        )
        if not periods or periods[-1].ended_at is not None:
            continue
        current = periods[-1]
        due = clock.due_date(list(periods), case.stage)
        if due is None:
            continue
        sent = {notice.kind for notice in current.notices.all()}
        if today > due:
            if DeadlineNotice.Kind.ESCALATION not in sent:
                _send(case, current, DeadlineNotice.Kind.ESCALATION, due)
                escalations += 1
        elif (
            clock.working_days_between(today, due) <= warn_within
            and DeadlineNotice.Kind.WARNING not in sent
        ):
            _send(case, current, DeadlineNotice.Kind.WARNING, due)
            warnings += 1
    return NoticeRun(warnings=warnings, escalations=escalations)
