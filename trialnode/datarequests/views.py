"""Pages: the applicant's cases and form, the case page with its steps, attachments,
the variable template, and the handbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from trialnode.core.spreadsheets import XLSX_CONTENT_TYPE
from trialnode.datarequests import attachments as storage
from trialnode.datarequests import permissions as may
from trialnode.datarequests import services
from trialnode.datarequests.fivesafes import five_safes
from trialnode.datarequests.forms import (
    ApplicationForm,
    AssignForm,
    AttachmentForm,
    DecisionForm,
    DeliverForm,
    DisclosureForm,
    ExtractionDoneForm,
    HandbookPageForm,
    ReasonForm,
    ReviewForm,
    VariablesUploadForm,
)
from trialnode.datarequests.models import DataRequest, HandbookPage, Review, Stage
from trialnode.datarequests.selectors import standing
from trialnode.datarequests.variables import read_variables, template_bytes
from trialnode.organisations.models import User

Step = tuple[type[forms.Form], Callable[..., Any], Callable[[Any, DataRequest], bool]]


def _reason_step(service: Callable[..., Any]) -> Callable[..., Any]:
    return lambda case, by, data: service(case=case, by=by, reason=data["reason"])


STEPS: dict[str, Step] = {
    "submit": (
        ReasonForm,
        _reason_step(services.datarequest_submit),
        lambda user, case: may.is_applicant(user, case) and case.stage in services.EDITABLE_STAGES,
    ),
    "return": (
        ReasonForm,
        _reason_step(services.datarequest_return_for_supplement),
        lambda user, case: may.is_officer(user, case) and case.stage == Stage.SUBMITTED,
    ),
    "accept": (
        ReasonForm,
        _reason_step(services.datarequest_accept_complete),
        lambda user, case: may.is_officer(user, case) and case.stage == Stage.SUBMITTED,
    ),
    "review": (
        ReviewForm,
        lambda case, by, data: services.review_record(case=case, by=by, **data),
        lambda user, case: (
            case.stage == Stage.PREQUALIFICATION
            and (may.is_legal_reviewer(user, case) or may.is_data_engineer(user, case))
        ),
    ),
    "decide": (
        DecisionForm,
        lambda case, by, data: services.datarequest_decide(case=case, by=by, **data),
        lambda user, case: may.is_officer(user, case) and case.stage == Stage.DECISION,
    ),
    "assign": (
        AssignForm,
        lambda case, by, data: services.extraction_assign(case=case, by=by, **data),
        lambda user, case: may.is_officer(user, case) and case.stage == Stage.EXTRACTION,
    ),
    "extraction-done": (
        ExtractionDoneForm,
        lambda case, by, data: services.extraction_complete(case=case, by=by, **data),
        lambda user, case: case.stage == Stage.EXTRACTION and case.engineer_id == user.pk,
    ),
    "disclosure": (
        DisclosureForm,
        lambda case, by, data: services.disclosure_review_record(case=case, by=by, **data),
        lambda user, case: (
            case.stage == Stage.DISCLOSURE_REVIEW
            and case.engineer_id != user.pk
            and (may.is_data_engineer(user, case) or may.is_officer(user, case))
        ),
    ),
    "deliver": (
        DeliverForm,
        lambda case, by, data: services.datarequest_deliver(case=case, by=by, **data),
        lambda user, case: (
            case.stage == Stage.DISCLOSURE_REVIEW
            and (may.is_data_engineer(user, case) or may.is_officer(user, case))
        ),
    ),
    "confirm": (
        ReasonForm,
        _reason_step(services.datarequest_confirm_receipt),
        lambda user, case: may.is_applicant(user, case) and case.stage == Stage.DELIVERED,
    ),
    "withdraw": (
        ReasonForm,
        _reason_step(services.datarequest_withdraw),
        lambda user, case: (
            (may.is_applicant(user, case) or may.is_officer(user, case))
            and case.stage not in (Stage.CLOSED, Stage.WITHDRAWN)
        ),
    ),
    "amend": (
        ReasonForm,
        _reason_step(services.datarequest_amend),
        lambda user, case: may.is_applicant(user, case) and case.stage == Stage.CLOSED,
    ),
}
STEP_TITLES = {
    "submit": _("Submit the application"),
    "return": _("Return for supplement"),
    "accept": _("The application is complete"),
    "review": _("Record your review"),
    "decide": _("Decide and sign"),
    "assign": _("Assign the extraction"),
    "extraction-done": _("The extraction is done"),
    "disclosure": _("Disclosure review of the output"),
    "deliver": _("Deliver"),
    "confirm": _("Confirm the receipt"),
    "withdraw": _("Withdraw the application"),
    "amend": _("Amend: reopen as a new version"),
}


def _step_form(name: str, case: DataRequest, data: Any = None) -> forms.Form:
    form_class = STEPS[name][0]
    if form_class is AssignForm:
        return AssignForm(data, case=case, prefix=name)
    return form_class(data, prefix=name)


def _user(request: HttpRequest) -> User:
    """The logged-in user (every view that writes requires a login)."""
    return cast(User, request.user)


def _visible_case(request: HttpRequest, pk: int) -> DataRequest:
    return get_object_or_404(
        DataRequest.objects.visible_to(request.user).select_related(
            "data_holder", "applicant", "engineer", "decided_by"
        ),
        pk=pk,
    )


def _handbook_links() -> dict[str, list[tuple[str, str]]]:
    """Handbook pages (slug, title in the page's language) by the form step they explain."""
    language = get_language() or "sv"
    links: dict[str, list[tuple[str, str]]] = {}
    for page in HandbookPage.objects.all():
        links.setdefault(page.step, []).append((page.slug, page.title_in(language)))
    return links


@login_required
def index(request: HttpRequest) -> HttpResponse:
    visible = DataRequest.objects.visible_to(request.user).select_related("data_holder")
    mine = [(case, standing(case)) for case in visible.filter(applicant=request.user)[:100]]
    queue = []
    if may.is_staff_anywhere(request.user):
        queue = [
            (case, standing(case))
            for case in visible.exclude(applicant=request.user)
            .exclude(stage__in=[Stage.CLOSED, Stage.WITHDRAWN])
            .order_by("stage_since")[:200]
        ]
    return render(request, "datarequests/index.html", {"mine": mine, "queue": queue})


@login_required
def new(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
            case = services.datarequest_create(by=_user(request), fields=fields)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The draft is saved. Add the variables and attachments."))
            return redirect("datarequests:detail", pk=case.pk)
    return render(
        request,
        "datarequests/form.html",
        {"form": form, "handbook": _handbook_links(), "case": None},
        status=400 if form.errors else 200,
    )


def _add_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    if not may.is_applicant(request.user, case):
        raise PermissionDenied
    if case.stage not in services.EDITABLE_STAGES:
        messages.error(request, _("The application can be changed only while it is with you."))
        return redirect("datarequests:detail", pk=case.pk)
    form = ApplicationForm(request.POST or None, instance=DataRequest.objects.get(pk=case.pk))
    if request.method == "POST" and form.is_valid():
        try:
            fields = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
            services.datarequest_update(case=case, by=_user(request), fields=fields)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The application is saved."))
            return redirect("datarequests:detail", pk=case.pk)
    return render(
        request,
        "datarequests/form.html",
        {"form": form, "handbook": _handbook_links(), "case": case},
        status=400 if form.errors else 200,
    )


def _detail_context(request: HttpRequest, case: DataRequest, **bound: forms.Form) -> dict[str, Any]:
    user = request.user
    steps = [
        (name, STEP_TITLES[name], bound.get(name) or _step_form(name, case))
        for name, (_form, _action, allowed) in STEPS.items()
        if allowed(user, case)
    ]
    is_staff = not may.is_applicant(user, case) or user.is_superuser
    editable = may.is_applicant(user, case) and case.stage in services.EDITABLE_STAGES
    return {
        "case": case,
        "standing": standing(case),
        "checklist": services.checklist(case) if case.stage in services.EDITABLE_STAGES else [],
        "variables": list(case.variables.all()),
        "attachments": list(case.attachments.all()),
        "reviews": list(case.reviews.select_related("reviewer")),
        "history": list(case.periods.select_related("actor").order_by("started_at", "id")),
        "versions": list(case.closed_versions.all()),
        "five_safes": five_safes(case) if is_staff else [],
        "steps": steps,
        "editable": editable,
        "attachment_form": bound.get("attachment") or AttachmentForm(prefix="attachment"),
        "variables_form": bound.get("variables") or VariablesUploadForm(prefix="variables"),
        "handbook": _handbook_links(),
        "disclosure_reviews": [r for r in case.reviews.all() if r.kind == Review.Kind.DISCLOSURE],
    }


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    return render(request, "datarequests/detail.html", _detail_context(request, case))


@login_required
@require_POST
def step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    case = _visible_case(request, pk)
    if name not in STEPS:
        raise Http404
    _form_class, action, allowed = STEPS[name]
    if not allowed(request.user, case) and not _same_stage_other_role(request.user, case):
        raise PermissionDenied
    form = _step_form(name, case, request.POST)
    if form.is_valid():
        try:
            action(case, _user(request), form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Done: %(step)s.") % {"step": STEP_TITLES[name]})
            if DataRequest.objects.visible_to(request.user).filter(pk=case.pk).exists():
                return redirect("datarequests:detail", pk=case.pk)
            return redirect("datarequests:index")
    context = _detail_context(request, case, **{name: form})
    return render(request, "datarequests/detail.html", context, status=400)


def _same_stage_other_role(user, case: DataRequest) -> bool:
    """Staff of the case who try a step that its stage does not allow are told so by the
    service (an out-of-order step), not refused as strangers."""
    return (
        may.is_applicant(user, case)
        or may.is_officer(user, case)
        or may.is_legal_reviewer(user, case)
        or may.is_data_engineer(user, case)
    )


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    if not may.is_applicant(request.user, case):
        raise PermissionDenied
    form = AttachmentForm(request.POST, request.FILES, prefix="attachment")
    if form.is_valid():
        try:
            services.attachment_add(
                case=case,
                by=_user(request),
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The attachment is added."))
            return redirect("datarequests:detail", pk=case.pk)
    context = _detail_context(request, case, attachment=form)
    return render(request, "datarequests/detail.html", context, status=400)


@login_required
@require_safe
def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    """Served only to those who see the case; every download is in the trail."""
    case = _visible_case(request, pk)
    attachment = get_object_or_404(case.attachments, pk=attachment_pk)
    try:
        handle = storage.path_of(attachment.stored_name).open("rb")
    except OSError:
        raise Http404 from None
    services.attachment_download_record(attachment=attachment, by=_user(request))
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def variables_upload(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    if not may.is_applicant(request.user, case):
        raise PermissionDenied
    form = VariablesUploadForm(request.POST, request.FILES, prefix="variables")
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > 2 * 1024 * 1024:
                raise ValidationError(_("The file is larger than 2 MB."))
            rows = read_variables(upload.name or "", upload.read())
            services.variables_replace(
                case=case, by=_user(request), rows=rows, reason=_("Variable list uploaded")
            )
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            messages.success(request, _("%(count)d variables are saved.") % {"count": len(rows)})
            return redirect("datarequests:detail", pk=case.pk)
    context = _detail_context(request, case, variables=form)
    return render(request, "datarequests/detail.html", context, status=400)


@login_required
def variables_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(template_bytes(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="variabellista-mall.xlsx"'
    return response


def handbook(request: HttpRequest) -> HttpResponse:
    language = get_language() or "sv"
    pages = [(page, page.title_in(language)) for page in HandbookPage.objects.all()]
    return render(
        request,
        "datarequests/handbook.html",
        {"pages": pages, "can_edit": may.is_handbook_editor(request.user)},
    )


def handbook_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = get_object_or_404(HandbookPage, slug=slug)
    language = get_language() or "sv"
    return render(
        request,
        "datarequests/handbook_page.html",
        {
            "page": page,
            "title": page.title_in(language),
            "body": page.body_in(language),
            "can_edit": may.is_handbook_editor(request.user),
        },
    )


@login_required
def handbook_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    if not may.is_handbook_editor(request.user):
        raise PermissionDenied
    page = get_object_or_404(HandbookPage, slug=slug) if slug else None
    form = HandbookPageForm(request.POST or None, instance=page)
    if request.method == "POST" and form.is_valid():
        saved = services.handbook_page_save(form=form, by=_user(request))
        messages.success(request, _("The handbook page is saved."))
        return redirect("datarequests:handbook_page", slug=saved.slug)
    return render(
        request,
        "datarequests/handbook_edit.html",
        {"form": form, "page": page},
        status=400 if form.errors else 200,
    )
