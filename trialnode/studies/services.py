"""Writes with a rule on studies: registration workflow, edits, status, re-confirmation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.audit.signatures import check_signer, record_signature
from trialnode.organisations.models import Role, User
from trialnode.studies import search
from trialnode.studies.models import (
    RegistrationState,
    Source,
    Status,
    Study,
    StudyCondition,
    StudyContact,
    StudyIntervention,
    StudySite,
    StudyStatusChange,
    StudyType,
)
from trialnode.studies.selectors import find_possible_duplicates
from trialnode.studies.validators import EARLIEST_STUDY_DATE

CHILD_MODELS: dict[
    str, type[StudySite] | type[StudyCondition] | type[StudyIntervention] | type[StudyContact]
] = {
    "sites": StudySite,
    "conditions": StudyCondition,
    "interventions": StudyIntervention,
    "contacts": StudyContact,
}
STUDY_FIELDS = frozenset(
    f.name
    for f in Study._meta.get_fields()
    if getattr(f, "editable", False) and not f.is_relation and f.name != "id"
) - {
    "source",
    "registration_state",
    "return_comment",
    "submitted_at",
    "published_at",
    "last_confirmed_at",
    "reconfirmation_requested_at",
    "version",
    "status",
}


class StaleVersion(ValidationError):
    """Somebody else saved the study after this version was read."""


class PossibleDuplicates(ValidationError):
    def __init__(self, duplicates: list[Study]):
        self.duplicates = duplicates
        super().__init__(
            _("This study may already be registered: %(studies)s. Check before creating it again.")
            % {"studies": "; ".join(f"{d.reference} {d.title}" for d in duplicates)},
            code="duplicate",
        )


def can_register_studies(user: User) -> bool:
    return user.is_authenticated and (
        user.is_superuser or bool(user.active_roles() & {Role.REGISTRANT, Role.COORDINATOR})
    )


def _require(queryset, study: Study, message: str) -> None:
    if not queryset.filter(pk=study.pk).exists():
        raise PermissionDenied(message)


def _reject_unknown_fields(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - STUDY_FIELDS
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )


def _build_children(study: Study, children: Mapping[str, Iterable[Mapping[str, Any]] | None]):
    """Validated, unsaved child rows; a ValidationError lists every bad row."""
    built: dict[str, list] = {}
    errors: dict[str, list] = {}
    for name, rows in children.items():
        if rows is None:
            continue
        model = CHILD_MODELS[name]
        built[name] = []
        for position, row in enumerate(rows, start=1):
            instance = model(study=study, **row)
            instance.entered_here = True
            if (
                isinstance(instance, StudySite)
                and not row.get("region")
                and not row.get("region_id")
                and instance.care_provider is not None
            ):
                instance.region_id = instance.care_provider.region_id
            try:
                instance.full_clean(exclude=["study"])
                if isinstance(instance, StudySite) and instance.region_id is None:
                    raise ValidationError(
                        {"region": _("Choose the region or the care provider of the site.")}
                    )
            except ValidationError as exc:
                errors.setdefault(name, []).append({"row": position, "errors": exc.message_dict})
            built[name].append(instance)
    if errors:
        raise ValidationError(
            [
                ValidationError(
                    f"{_row_label(name, entry['row'])}: {_field_label(name, field)}: "
                    f"{' '.join(msgs)}"
                )
                for name, entries in errors.items()
                for entry in entries
                for field, msgs in entry["errors"].items()
            ]
        )
    return built


def _row_label(name: str, position: int) -> str:
    return f"{capfirst(CHILD_MODELS[name]._meta.verbose_name)} {position}"


def _field_label(name: str, field: str) -> str:
    if field == NON_FIELD_ERRORS:
        return str(_("row"))
    try:
        model_field = CHILD_MODELS[name]._meta.get_field(field)
    except FieldDoesNotExist:
        return field
    return str(getattr(model_field, "verbose_name", field))


def _check_status(*, status: str, status_date: date | None, sites: list[StudySite]) -> None:
    """The overall status is a known one, dated no later than today, and open for
    recruitment when a site recruits (as ClinicalTrials.gov requires)."""
    errors: dict[str, list[str]] = {}
    if status not in Status.values:
        errors["status"] = [_("%(status)s is not a study status.") % {"status": status}]
    if status_date is not None:
        if status_date > timezone.localdate():
            errors["status_date"] = [_("A status change cannot take effect in the future.")]
        elif status_date < EARLIEST_STUDY_DATE:
            errors["status_date"] = [
                _("Give a date from %(earliest)s on.")
                % {"earliest": EARLIEST_STUDY_DATE.isoformat()}
            ]
    if status != Status.RECRUITING and any(
        site.recruitment_status == Status.RECRUITING for site in sites
    ):
        errors["status"] = [
            _(
                "A site recruits, so the study is open for recruitment: set its overall "
                "status to “Recruiting” (or change the site's status)."
            )
        ]
    if errors:
        raise ValidationError(errors)


def _child_values(instance) -> tuple:
    """What a row says (not where it came from: see ``StudyPart.entered_here``)."""
    return tuple(
        getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.name not in ("id", "study", "chapter", "entered_here")
    )


ROW_KEYS = {
    "sites": ("facility_name", "city"),
    "conditions": ("text",),
    "interventions": ("name",),
    "contacts": ("name",),
}
"""What names a row whatever else is said about it: an edited row with the key of one of
the registry's rows stays the registry's."""


def replace_child_rows(
    study: Study, built: Mapping[str, list], *, from_registry: bool = False
) -> dict[str, list]:
    """Replace the child rows by the given ones, keeping rows that did not change (so the
    history shows only real changes). Edits and registry imports both go through here.

    ``from_registry``: the rows are a new version of the study's registry record, which
    replaces the rows the registry brought and keeps those entered here; these are
    returned, by kind (they stay the study's as well as the record's rows). In an edit, a
    changed row of the registry's (its key, ``ROW_KEYS``, unchanged) stays the
    registry's: its next version replaces it, as it replaces the study's registry fields.
    """
    kept: dict[str, list] = {}
    for name, instances in built.items():
        existing: dict[tuple, list] = {}
        for row in getattr(study, name).all():
            existing.setdefault(_child_values(row), []).append(row)
        changed = []
        for instance in instances:
            unchanged = existing.get(_child_values(instance))
            if unchanged:
                unchanged.pop()
            else:
                changed.append(instance)
        gone = [row for rows in existing.values() for row in rows]
        if not from_registry:
            _keep_registry_origin(ROW_KEYS[name], changed, gone)
        for instance in changed:
            instance.study = study
            instance.save()
        for row in gone:
            if from_registry and row.entered_here:
                kept.setdefault(name, []).append(row)
            else:
                row.delete()
    return kept


def _keep_registry_origin(key: tuple[str, ...], changed: list, gone: list) -> None:
    """Mark the changed rows that stand in for a gone row of the registry's (same key) as
    the registry's."""
    registry_rows: dict[tuple, list] = {}
    for row in gone:
        if not row.entered_here:
            registry_rows.setdefault(tuple(getattr(row, f) for f in key), []).append(row)
    for instance in changed:
        same = registry_rows.get(tuple(getattr(instance, f) for f in key))
        if same:
            same.pop()
            instance.entered_here = False


@transaction.atomic
def study_create(
    *,
    by: User,
    fields: Mapping[str, Any],
    sites: Iterable[Mapping[str, Any]] = (),
    conditions: Iterable[Mapping[str, Any]] = (),
    interventions: Iterable[Mapping[str, Any]] = (),
    contacts: Iterable[Mapping[str, Any]] = (),
    status: str = Status.NOT_YET_RECRUITING,
    status_date: date | None = None,
    allow_duplicate: bool = False,
) -> Study:
    """Create a draft owned by ``by``, with its overall status in force since
    ``status_date`` (today when not given); warns (raises) on a likely duplicate first."""
    if not can_register_studies(by):
        raise PermissionDenied(_("You may not register studies."))
    _reject_unknown_fields(fields)
    study = Study(**fields, status=status, owner=by, registration_state=RegistrationState.DRAFT)
    study.full_clean(exclude=["owner"])
    built = _build_children(
        study,
        {
            "sites": sites,
            "conditions": conditions,
            "interventions": interventions,
            "contacts": contacts,
        },
    )
    _check_status(status=status, status_date=status_date, sites=built.get("sites", []))
    if not allow_duplicate:
        duplicates = find_possible_duplicates(
            title=study.title, sponsor_name=study.sponsor_name, identifiers=study.identifiers()
        )
        if duplicates:
            raise PossibleDuplicates(duplicates)
    study.save()
    StudyStatusChange.objects.create(
        study=study,
        status=study.status,
        effective_date=status_date or timezone.localdate(),
        recorded_by=by,
    )
    replace_child_rows(study, built)
    search.index_studies([study.pk])
    return study


@transaction.atomic
def study_update(
    *,
    study: Study,
    by: User,
    expected_version: int,
    fields: Mapping[str, Any],
    sites: Iterable[Mapping[str, Any]] | None = None,
    conditions: Iterable[Mapping[str, Any]] | None = None,
    interventions: Iterable[Mapping[str, Any]] | None = None,
    contacts: Iterable[Mapping[str, Any]] | None = None,
    status: str | None = None,
    status_date: date | None = None,
    reason: str = "",
) -> Study:
    """Change a study's content. Refused when someone saved it since ``expected_version``;
    a change to a published study needs a ``reason``, which the audit trail keeps.

    ``status`` with ``status_date`` records a new overall status in the history (or
    corrects the date the current one took effect), as ``study_change_status`` does."""
    _require(Study.objects.editable_by(by), study, _("You may not change this study."))
    _reject_unknown_fields(fields)
    current = Study.objects.select_for_update().get(pk=study.pk)
    _require_reason_if_published(current, reason)
    children = {
        "sites": sites,
        "conditions": conditions,
        "interventions": interventions,
        "contacts": contacts,
    }
    with because(reason.strip()):
        return _apply_update(current, by, expected_version, fields, children, status, status_date)


def _require_reason_if_published(study: Study, reason: str) -> None:
    if study.registration_state == RegistrationState.PUBLISHED and not reason.strip():
        raise ValidationError(
            {"reason": _("Say why you change a published study; the reason is kept.")},
            code="reason",
        )


def _apply_update(
    current: Study,
    by: User,
    expected_version: int,
    fields: Mapping[str, Any],
    children: Mapping[str, Iterable[Mapping[str, Any]] | None],
    status: str | None,
    status_date: date | None,
) -> Study:
    if current.version != expected_version:
        raise StaleVersion(
            _(
                "Someone else saved this study after you opened it. Reload it to see their "
                "changes; nothing was saved."
            ),
            code="stale",
        )
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean(exclude=["owner"])
    built = _build_children(current, children)
    new_status = status or current.status
    sites = built["sites"] if "sites" in built else list(current.sites.all())
    _check_status(status=new_status, status_date=status_date, sites=sites)
    status_changed = new_status != current.status or (
        status_date is not None and status_date != status_in_force_since(current)
    )
    if status_changed:
        StudyStatusChange.objects.create(
            study=current,
            status=new_status,
            effective_date=status_date or timezone.localdate(),
            recorded_by=by,
        )
        current.status = new_status
    current.version = F("version") + 1
    current.save()
    current.refresh_from_db()
    replace_child_rows(current, built)
    search.index_studies([current.pk])
    return current


def status_in_force_since(study: Study) -> date | None:
    """The day the study's current overall status took effect (its open status period)."""
    span = study.status_spans.filter(end__isnull=True).order_by("-start").first()
    return span.start if span else None


def minimal_data_set_problems(study: Study) -> list[str]:
    """What the minimal data set still lacks before a study can be validated.

    A registry record is public content from its registry: it needs only a site, so
    that a coordinator of its region can see to it.
    """
    if study.source != Source.LOCAL:
        return [] if study.sites.exists() else [_("At least one site is required.")]
    problems = []
    if not study.title_sv:
        problems.append(_("A Swedish title is required."))
    if not study.sponsor_name:
        problems.append(_("The sponsor is required."))
    if not study.sponsor_type:
        problems.append(_("The sponsor type is required."))
    if study.study_type == StudyType.INTERVENTIONAL and not study.interventional_kind:
        problems.append(_("Say what kind of interventional study this is."))
    if not study.summary_sv:
        problems.append(_("A plain-language summary in Swedish is required."))
    if not (study.epm_dnr or study.eu_ct_number):
        problems.append(
            _("An Ethical Review Authority reference number or an EU CT number is required.")
        )
    if not study.conditions.exists():
        problems.append(_("At least one condition (indication) is required."))
    if not study.sites.exists():
        problems.append(_("At least one site is required."))
    if not study.contacts.exists():
        problems.append(_("At least one contact is required."))
    return problems


@transaction.atomic
def study_submit(*, study: Study, by: User) -> Study:
    """Draft or returned → submitted, for a coordinator of a site's region to validate."""
    if study.owner_id != by.pk and not by.is_superuser:
        raise PermissionDenied(_("Only the study's owner may submit it."))
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.registration_state not in (RegistrationState.DRAFT, RegistrationState.RETURNED):
        raise ValidationError(_("Only a draft or a returned study can be submitted."))
    problems = minimal_data_set_problems(study)
    if problems:
        raise ValidationError(problems)
    study.registration_state = RegistrationState.SUBMITTED
    study.submitted_at = timezone.now()
    study.version = F("version") + 1
    study.save(update_fields=["registration_state", "submitted_at", "version", "updated_at"])
    study.refresh_from_db()
    return study


@transaction.atomic
def study_publish(
    *, study: Study, by: User, password: str, reason: str, otp_token: str = ""
) -> Study:
    """Submitted → published, by a coordinator of one of the study's regions, signed
    electronically (the password again) with the meaning "published"."""
    _require(
        Study.objects.validatable_by(by),
        study,
        _("Only a coordinator of the study's region may publish a submitted study."),
    )
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for publishing.")})
    check_signer(user=by, password=password, otp_token=otp_token)
    study = Study.objects.select_for_update().get(pk=study.pk)
    problems = minimal_data_set_problems(study)
    if problems:
        raise ValidationError(problems)
    with because(reason.strip()):
        study = _publish(study, by)
        record_signature(user=by, instance=study, meaning="published")
    return study


def _publish(study: Study, by: User) -> Study:
    now = timezone.now()
    study.registration_state = RegistrationState.PUBLISHED
    study.published_at = now
    study.published_by = by
    study.return_comment = ""
    study.last_confirmed_at = timezone.localdate(now)
    study.version = F("version") + 1
    study.save(
        update_fields=[
            "registration_state",
            "published_at",
            "published_by",
            "return_comment",
            "last_confirmed_at",
            "version",
            "updated_at",
        ]
    )
    study.refresh_from_db()
    return study


@transaction.atomic
def study_return(*, study: Study, by: User, comment: str) -> Study:
    """Submitted → returned with a comment the registrant sees."""
    _require(
        Study.objects.validatable_by(by),
        study,
        _("Only a coordinator of the study's region may return a submitted study."),
    )
    comment = comment.strip()
    if not comment:
        raise ValidationError(_("Say what the registrant must change."))
    study = Study.objects.select_for_update().get(pk=study.pk)
    study.registration_state = RegistrationState.RETURNED
    study.return_comment = comment
    study.version = F("version") + 1
    with because(comment):
        study.save(update_fields=["registration_state", "return_comment", "version", "updated_at"])
    study.refresh_from_db()
    return study


@transaction.atomic
def study_change_status(
    *,
    study: Study,
    by: User | None,
    status: str,
    effective_date: date | None = None,
    reason: str = "",
) -> Study:
    """Set the overall status and record it, with the date it took effect, in the history.
    A published study's status changes only with a ``reason``. Sites that still say they
    recruit take the new status when the study stops recruiting."""
    if by is not None:
        _require(Study.objects.editable_by(by), study, _("You may not change this study."))
    study = Study.objects.select_for_update().get(pk=study.pk)
    _check_status(status=status, status_date=effective_date, sites=[])
    if study.status == status and effective_date in (None, status_in_force_since(study)):
        return study
    effective_date = effective_date or timezone.localdate()
    if by is not None:
        _require_reason_if_published(study, reason)
    with because(reason.strip()):
        StudyStatusChange.objects.create(
            study=study, status=status, effective_date=effective_date, recorded_by=by
        )
        study.status = status
        study.version = F("version") + 1
        study.save(update_fields=["status", "version", "updated_at"])
        if status != Status.RECRUITING:
            for site in study.sites.filter(recruitment_status=Status.RECRUITING):
                site.recruitment_status = status
                site.save(update_fields=["recruitment_status"])
    study.refresh_from_db()
    return study


@transaction.atomic
def study_confirm(*, study: Study, by: User) -> Study:
    """Confirm that a published record is still correct (the yearly re-confirmation)."""
    _require(Study.objects.editable_by(by), study, _("You may not change this study."))
    study.last_confirmed_at = timezone.localdate()
    study.reconfirmation_requested_at = None
    with because("re-confirmed as correct"):
        study.save(update_fields=["last_confirmed_at", "reconfirmation_requested_at", "updated_at"])
    return study


REMIND_AGAIN_AFTER = timedelta(days=30)


def stale_studies_notify(*, today: date | None = None) -> int:
    """E-mail the contacts and owner of each stale study; at most once per 30 days each."""
    now = timezone.now()
    stale = (
        Study.objects.stale(today=today)
        .filter(
            Q(reconfirmation_requested_at__isnull=True)
            | Q(reconfirmation_requested_at__lt=now - REMIND_AGAIN_AFTER)
        )
        .select_related("owner")
        .prefetch_related("contacts")
    )
    sent = 0
    for study in stale:
        recipients = sorted(
            {c.email for c in study.contacts.all() if c.email}
            | ({study.owner.email} if study.owner and study.owner.email else set())
        )
        if not recipients:
            continue
        with transaction.atomic():
            send_mail(
                subject=_("Please confirm the study %(reference)s")
                % {"reference": study.reference},
                message=_(
                    "The study “%(title)s” (%(reference)s) was last confirmed on %(date)s. "
                    "Please log in to trialnode and confirm or update it."
                )
                % {
                    "title": study.title,
                    "reference": study.reference,
                    "date": study.last_confirmed_at or "–",
                },
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
            Study.objects.filter(pk=study.pk).update(reconfirmation_requested_at=now)
        sent += 1
    return sent
