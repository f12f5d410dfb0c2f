"""Pages of the sponsor, the coordinator and the recipient. The rules are in services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trialnode.core.spreadsheets import xlsx_response
from trialnode.counts.selectors import attached_to
from trialnode.counts.services import can_count
from trialnode.feasibility import answers, conf, selectors, services, synopses
from trialnode.feasibility.forms import (
    AnswerForm,
    CloseForm,
    CompileForm,
    DirectoryEntryForm,
    InquiryForm,
    MemberForm,
    MessageForm,
    OrganisationForm,
)
from trialnode.feasibility.models import (
    DirectoryEntry,
    Inquiry,
    InquiryKind,
    InquiryState,
    handled_region_ids,
    organisation_of,
)
from trialnode.feasibility.permissions import is_sponsor, is_staff, may_open_inquiries
from trialnode.organisations.models import CareProvider, User


def _me(request: HttpRequest) -> User:
    """The logged-in user (every view that calls a service requires a login)."""
    return request.user  # type: ignore[return-value]


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def _visible(request: HttpRequest, pk: int) -> Inquiry:
    return get_object_or_404(
        Inquiry.objects.visible_to(_me(request)).select_related("organisation"), pk=pk
    )


def _handled(request: HttpRequest, pk: int) -> Inquiry:
    inquiry = _visible(request, pk)
    if not Inquiry.objects.handled_by(_me(request)).filter(pk=pk).exists():
        raise PermissionDenied(_("You do not handle this inquiry."))
    return inquiry


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if not may_open_inquiries(user):
        raise PermissionDenied
    mine = (
        Inquiry.objects.of_sponsor(user).prefetch_related("recipients")
        if is_sponsor(user)
        else None
    )
    queue = None
    if is_staff(user):
        queue = (
            Inquiry.objects.visible_to(user)
            .filter(state__in=selectors.QUEUE_STATES)
            .select_related("organisation")
            .order_by("submitted_at")
        )
    return render(
        request,
        "feasibility/index.html",
        {
            "mine": mine,
            "organisation": organisation_of(user),
            "is_sponsor": is_sponsor(user),
            "queue": queue,
            "done": Inquiry.objects.visible_to(user)
            .exclude(state__in=selectors.QUEUE_STATES)
            .select_related("organisation")[:50]
            if is_staff(user)
            else None,
            "handles": user.is_superuser or bool(handled_region_ids(user)),
        },
    )


@login_required
def organisation(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if not is_sponsor(user):
        raise PermissionDenied
    current = organisation_of(user)
    form = OrganisationForm(request.POST or None) if current is None else None
    member_form = MemberForm(request.POST or None) if current is not None else None
    if request.method == "POST":
        try:
            if current is None and form is not None and form.is_valid():
                services.organisation_create(
                    by=user, name=form.cleaned_data["name"], kind=form.cleaned_data["kind"]
                )
                messages.success(request, _("Your organisation is registered."))
                return redirect("feasibility:index")
            if current is not None and member_form is not None and member_form.is_valid():
                services.organisation_add_member(
                    organisation=current, by=user, email=member_form.cleaned_data["email"]
                )
                messages.success(request, _("The colleague has been added."))
                return redirect("feasibility:organisation")
        except ValidationError as exc:
            target = form if current is None else member_form
            assert target is not None
            for message in _errors(exc):
                target.add_error(None, message)
    return render(
        request,
        "feasibility/organisation.html",
        {
            "organisation": current,
            "members": current.memberships.select_related("user") if current else [],
            "form": form,
            "member_form": member_form,
        },
    )


@login_required
def new(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in InquiryKind.values:
        raise Http404
    if not is_sponsor(_me(request)):
        raise PermissionDenied
    if organisation_of(_me(request)) is None:
        messages.info(request, _("Register your sponsor organisation first."))
        return redirect("feasibility:organisation")
    form = InquiryForm(request.POST or None, request.FILES or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            inquiry = services.inquiry_submit(
                by=_me(request),
                kind=kind,
                fields=form.service_fields(),
                all_sweden=form.cleaned_data["all_sweden"],
                regions=form.cleaned_data["target_regions"],
                providers=form.cleaned_data["target_providers"],
                synopsis=form.cleaned_data.get("synopsis"),
                base_url=_base(request),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Your inquiry has been submitted to the nodes."))
            return redirect("feasibility:detail", pk=inquiry.pk)
    return render(
        request,
        "feasibility/new.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": InquiryKind(kind).label,
            "synopsis_max_mb": conf.SYNOPSIS_MAX_MB,
        },
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _visible(request, pk)
    user = _me(request)
    handles = Inquiry.objects.handled_by(user).filter(pk=pk).exists()
    is_owner = Inquiry.objects.of_sponsor(user).filter(pk=pk).exists()
    context: dict[str, Any] = {
        "inquiry": inquiry,
        "handles": handles,
        "is_owner": is_owner,
        "answers": selectors.inquiry_answers(inquiry),
        "case_messages": inquiry.messages.select_related("author"),
        "regions": inquiry.target_regions.all(),
        "providers": inquiry.target_providers.all(),
        "may_read_synopsis": bool(inquiry.synopsis_path) and (handles or is_owner),
        "message_form": MessageForm(),
        "States": InquiryState,
        "counts": attached_to("feasibility.inquiry", inquiry.pk),
        "can_count": handles and can_count(user),
    }
    if handles and inquiry.state == InquiryState.DISPATCHED:
        context["compile_form"] = CompileForm(
            initial={"text": services.compiled_answer_draft(inquiry)}
        )
    if handles:
        context["close_form"] = CloseForm()
    return render(request, "feasibility/detail.html", context)


@login_required
@require_GET
@never_cache
def synopsis(request: HttpRequest, pk: int) -> HttpResponseBase:
    inquiry = _visible(request, pk)
    handle = synopses.synopsis_open(inquiry=inquiry, user=_me(request))
    return FileResponse(
        handle, content_type="application/pdf", as_attachment=True, filename="synopsis.pdf"
    )


def _step(request: HttpRequest, inquiry: Inquiry, action, success: str, **kwargs) -> HttpResponse:
    try:
        action(inquiry=inquiry, by=_me(request), **kwargs)
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect("feasibility:detail", pk=inquiry.pk)


@login_required
@require_POST
def ask(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _handled(request, pk)
    form = MessageForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    return _step(
        request,
        inquiry,
        services.inquiry_ask_sponsor,
        _("The question has been sent to the sponsor."),
        text=text,
        base_url=_base(request),
    )


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _visible(request, pk)
    if not Inquiry.objects.of_sponsor(_me(request)).filter(pk=pk).exists():
        raise PermissionDenied
    form = MessageForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    return _step(
        request,
        inquiry,
        services.inquiry_reply_to_question,
        _("Your reply has been sent to the node."),
        text=text,
        base_url=_base(request),
    )


@login_required
@require_POST
def triage(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _handled(request, pk)
    return _step(request, inquiry, services.inquiry_triage, _("The inquiry is marked complete."))


@login_required
def recipients(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the units: the proposal, every other unit allowed, and competing studies."""
    inquiry = _handled(request, pk)
    allowed = services.dispatchable_entries(inquiry, _me(request))
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("entries") if v.isdigit()][:500]
        chosen = list(allowed.filter(pk__in=ids))
        if len(chosen) != len(set(ids)):
            raise PermissionDenied(_("You may not send this inquiry to some of those units."))
        try:
            created = services.inquiry_dispatch(
                inquiry=inquiry, by=_me(request), entries=chosen, base_url=_base(request)
            )
        except ValidationError as exc:
            for message in _errors(exc):
                messages.error(request, message)
        else:
            messages.success(request, _("Sent to %(count)s units.") % {"count": len(created)})
            return redirect("feasibility:detail", pk=inquiry.pk)
    proposed = {e.pk for e in services.proposal_entries(inquiry, _me(request))}
    already = set(inquiry.recipients.values_list("entry_id", flat=True))
    entries = sorted(
        allowed,
        key=lambda e: (e.pk not in proposed, e.care_provider.region.name, e.care_provider.name),
    )
    competing = selectors.competing_studies(inquiry)
    return render(
        request,
        "feasibility/recipients.html",
        {
            "inquiry": inquiry,
            "entries": entries,
            "proposed": proposed,
            "already": already,
            "competing": competing[:30],
            "competing_count": competing.count(),
        },
    )


@login_required
@require_POST
def remind(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _handled(request, pk)
    try:
        count = services.inquiry_remind(inquiry=inquiry, by=_me(request), base_url=_base(request))
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("%(count)s units were reminded.") % {"count": count})
    return redirect("feasibility:detail", pk=inquiry.pk)


@login_required
@require_POST
def compile_answer(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _handled(request, pk)
    form = CompileForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    return _step(
        request,
        inquiry,
        services.inquiry_compile,
        _("The compiled answer has been sent to the sponsor."),
        text=text,
        base_url=_base(request),
    )


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = _handled(request, pk)
    form = CloseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _step(
        request, inquiry, services.inquiry_close, _("The inquiry is closed."), reason=reason
    )


@login_required
@require_GET
def answers_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Every answer of an inquiry as a spreadsheet (through the shared safe writer)."""
    inquiry = _visible(request, pk)
    header = [
        _("Region"),
        _("Care provider"),
        _("Unit"),
        _("Investigator"),
        _("Answer"),
        _("Reason for declining"),
        _("Eligible patients per year"),
        _("Comments"),
        _("Answered"),
    ]
    rows = [
        [
            r.region.name,
            r.entry.care_provider.name,
            r.entry.unit_name,
            r.entry.investigator,
            r.get_response_display() if r.response else "",
            r.decline_reason,
            r.eligible_per_year,
            r.comments,
            r.answered_at.date().isoformat() if r.answered_at else "",
        ]
        for r in selectors.inquiry_answers(inquiry)
    ]
    return xlsx_response(f"{inquiry.reference}-svar.xlsx", [(inquiry.reference, header, rows)])


# -- the directory -------------------------------------------------------------------------


def _may_maintain(user) -> bool:
    return user.is_superuser or bool(handled_region_ids(user))


def _providers_for(user):
    providers = CareProvider.objects.filter(is_active=True).select_related("region")
    if user.is_superuser:
        return providers
    return providers.filter(region_id__in=handled_region_ids(user))


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    if not _may_maintain(_me(request)):
        raise PermissionDenied
    form = DirectoryEntryForm(request.POST or None, providers=_providers_for(_me(request)))
    if request.method == "POST" and form.is_valid():
        try:
            services.directory_entry_save(entry=form.instance, by=_me(request))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("The unit has been added to the directory."))
            return redirect("feasibility:directory")
    entries = DirectoryEntry.objects.maintainable_by(_me(request)).select_related(
        "care_provider__region"
    )
    return render(request, "feasibility/directory.html", {"form": form, "entries": entries})


@login_required
def directory_entry(request: HttpRequest, pk: int) -> HttpResponse:
    if not _may_maintain(_me(request)):
        raise PermissionDenied
    entry = get_object_or_404(DirectoryEntry.objects.maintainable_by(_me(request)), pk=pk)
    form = DirectoryEntryForm(
        request.POST or None, instance=entry, providers=_providers_for(_me(request))
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.directory_entry_save(entry=form.instance, by=_me(request))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("The unit has been saved."))
            return redirect("feasibility:directory")
    return render(request, "feasibility/directory_entry.html", {"form": form, "entry": entry})


# -- the recipient's answer (no account) -----------------------------------------------------


@never_cache
def answer(request: HttpRequest, recipient_id: int, token: str) -> HttpResponse:
    try:
        recipient = answers.recipient_for_link(recipient_id, token)
    except answers.LinkRefused as exc:
        return render(request, "feasibility/link_refused.html", {"reason": str(exc)}, status=403)
    inquiry = recipient.inquiry
    form = AnswerForm(request.POST or None, instance=recipient, kind=inquiry.kind)
    refused = ""
    if request.method == "POST" and form.is_valid():
        try:
            answers.recipient_answer(recipient_id=recipient_id, token=token, answer=form.answer())
        except answers.LinkRefused as exc:
            return render(
                request, "feasibility/link_refused.html", {"reason": str(exc)}, status=403
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("Thank you. Your answer is saved; you can change it until %(date)s.")
                % {"date": inquiry.reply_by.isoformat()},
            )
            return redirect("feasibility:answer", recipient_id=recipient_id, token=token)
    open_for_answers = inquiry.state == InquiryState.DISPATCHED and not inquiry.reply_date_passed
    if not open_for_answers:
        refused = _("The inquiry is no longer open for answers.")
    return render(
        request,
        "feasibility/answer.html",
        {
            "recipient": recipient,
            "inquiry": inquiry,
            "form": form,
            "open_for_answers": open_for_answers,
            "refused": refused,
            "token": token,
        },
    )


@require_GET
@never_cache
def answer_synopsis(request: HttpRequest, recipient_id: int, token: str) -> HttpResponseBase:
    try:
        recipient = answers.recipient_for_link(recipient_id, token)
    except answers.LinkRefused as exc:
        return render(request, "feasibility/link_refused.html", {"reason": str(exc)}, status=403)
    if not recipient.inquiry.synopsis_path:
        raise Http404
    handle = synopses.synopsis_open(inquiry=recipient.inquiry, recipient=recipient)
    return FileResponse(
        handle, content_type="application/pdf", as_attachment=True, filename="synopsis.pdf"
    )
