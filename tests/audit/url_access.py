"""Who may read the audit trail and plan its reviews."""

from datetime import date

from tests.urlaccess import FACTORIES, only, read, read_write

AUDITORS = only("auditor", "other_auditor", "superuser")


def _review(world):
    from trialnode.audit.models import AuditReview

    return AuditReview.objects.create(
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        scope="Publiceringar",
        planned_for=date(2025, 7, 15),
        reviewer=world.users.auditor,
    )


FACTORIES["audit_review"] = _review

URL_ACCESS = {
    "audit:events": read(AUDITORS),
    "audit:reviews": read_write(AUDITORS, AUDITORS),
    "audit:review": read_write(
        AUDITORS, AUDITORS, kwargs=lambda world: {"pk": world.audit_review.pk}
    ),
}
