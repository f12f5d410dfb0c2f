from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialnode.audit.selectors import can_review_trail, readable
from trialnode.audit.selectors import study_history as study_history_events
from trialnode.counts.selectors import requests_for
from trialnode.counts.services import can_count
from trialnode.organisations.http import AuthenticatedHttpRequest
from trialnode.studies import services
from trialnode.studies.filters import FILTERS, FilterError, StudySearch
from trialnode.studies.forms import (
    FORMSET_TITLES,
    FORMSETS,
    PublishForm,
    ReturnForm,
    StatusForm,
    StudyForm,
    child_rows,
    error_summary,
)
from trialnode.studies.history import history_entries
from trialnode.studies.models import RegistrationState, Study, StudySite
from trialnode.studies.search import words
from trialnode.studies.search_page import (
    RENDERED_PAGES,
    VARY,
    chosen_search_terms,
    page_kind,
    search_url_without,
    sort_options,
)


def search(request: HttpRequest) -> HttpResponse:
    kind = page_kind(request)
    response = RENDERED_PAGES.serve(
        request,
        kind,
        lambda csrf_token: _render_search(
            request, partial=kind == "partial", csrf_token=csrf_token
        ),
    )
    patch_vary_headers(response, VARY)
    return response


def _render_search(request: HttpRequest, *, partial: bool, csrf_token: str | None) -> HttpResponse:
    errors: dict[str, str] = {}
    try:
        study_search = StudySearch.from_params(request.GET)
    except FilterError as exc:
        errors = exc.errors
        study_search = StudySearch()
    result = study_search.run_public(page_size=settings.TRIALNODE_SEARCH_PAGE_SIZE)
    facets = [
        (
            f,
            result.facets[f.name],
            search_url_without(study_search, f.name) if not f.multiple else "",
        )
        for f in FILTERS
        if result.facets.get(f.name)
    ]
    chosen = chosen_search_terms(study_search)
    context = {
        "search": study_search,
        "result": result,
        "facets": facets,
        "chosen": chosen,
        "chosen_filter_count": sum(len(values) for values in study_search.values.values()),
        "sort_options": sort_options(study_search),
        "errors": errors,
        # Text of only punctuation searches nothing: every study is shown, and said so.
        "text_without_words": bool(study_search.text.strip()) and not words(study_search.text),
        "export_query": urlencode(study_search.query_items(sort=None)),
        "previous_url": (
            _page_url(study_search, min(result.page - 1, result.page_count))
            if result.page > 1
            else ""
        ),
        # A page past the last (an old link, a typed address) says so and leads back.
        "last_page_url": (
            _page_url(study_search, result.page_count)
            if result.count and result.page > result.page_count
            else ""
        ),
        "next_url": (
            _page_url(study_search, result.page + 1) if result.page < result.page_count else ""
        ),
    }
    if csrf_token is not None:
        context["csrf_token"] = csrf_token
    template = "studies/_search_form.html" if partial else "studies/search.html"
    return render(request, template, context, status=400 if errors else 200)


def _page_url(study_search: StudySearch, page: int) -> str:
    return "?" + urlencode(study_search.query_items(page=page))


def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(
        Study.objects.visible_to(request.user).prefetch_related(
            Prefetch(
                "sites",
                StudySite.objects.select_related("region", "care_provider", "unit"),
            ),
            "conditions",
            "interventions",
            "contacts",
            "status_history",
        ),
        pk=pk,
    )
    can_edit = Study.objects.editable_by(request.user).filter(pk=pk).exists()
    can_validate = Study.objects.validatable_by(request.user).filter(pk=pk).exists()
    return render(
        request,
        "studies/detail.html",
        {
            "study": study,
            "can_edit": can_edit,
            "can_validate": can_validate,
            "can_submit": study.owner_id == request.user.pk
            and study.registration_state in (RegistrationState.DRAFT, RegistrationState.RETURNED),
            "problems": services.minimal_data_set_problems(study)
            if can_edit and not study.is_published
            else [],
            "return_form": ReturnForm(),
            "publish_form": PublishForm(),
            "status_form": StatusForm(initial={"status": study.status}),
            # The patient counts of the study plan, for those who work on it.
            "counts": requests_for("studies.study", study.pk, request.user)
            if can_edit or can_validate
            else None,
            "can_count": can_count(request.user),
        },
    )


@login_required
def study_history(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The study's changes as a timeline, for those who may follow it up."""
    study = get_object_or_404(Study.objects.visible_to(request.user), pk=pk)
    if not Study.objects.followable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied
    events = [readable(e, reader=request.user) for e in study_history_events(study)]
    return render(
        request, "studies/history.html", {"study": study, "entries": history_entries(events)}
    )


@login_required
def workspace(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "studies/workspace.html",
        {
            "own_studies": Study.objects.filter(owner=user).order_by("-updated_at")[:100],
            "queue": Study.objects.validatable_by(user).order_by("submitted_at")[:200],
            "stale": Study.objects.editable_by(user).stale().order_by("last_confirmed_at")[:200],
            "can_register": services.can_register_studies(user),
            "can_review_trail": can_review_trail(user),
        },
    )


def _bound_formsets(request: HttpRequest, study: Study | None) -> dict:
    instance = study or Study()
    data = request.POST if request.method == "POST" else None
    return {name: cls(data, instance=instance, prefix=name) for name, cls in FORMSETS.items()}


def _apply_errors(form: StudyForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
def study_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not services.can_register_studies(request.user):
        raise PermissionDenied
    form = StudyForm(request.POST or None)
    formsets = _bound_formsets(request, None)
    duplicates: list[Study] = []
    if (
        request.method == "POST"
        and form.is_valid()
        and all(f.is_valid() for f in formsets.values())
    ):
        try:
            rows = child_rows(formsets)
            study = services.study_create(
                by=request.user,
                fields=form.study_fields(),
                allow_duplicate=form.cleaned_data["allow_duplicate"],
                sites=rows["sites"],
                conditions=rows["conditions"],
                interventions=rows["interventions"],
                contacts=rows["contacts"],
                **form.status_arguments(),
            )
        except services.PossibleDuplicates as exc:
            duplicates = exc.duplicates
            form.add_error(None, exc)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("studies:detail", pk=study.pk)
    return _form_page(request, form, formsets, duplicates=duplicates, study=None)


@login_required
def study_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(Study.objects.editable_by(request.user), pk=pk)
    form = StudyForm(
        request.POST or None,
        instance=study,
        initial={
            "version": study.version,
            "status": study.status,
            "status_date": services.status_in_force_since(study),
        },
    )
    formsets = _bound_formsets(request, study)
    if (
        request.method == "POST"
        and form.is_valid()
        and all(f.is_valid() for f in formsets.values())
    ):
        try:
            rows = child_rows(formsets)
            services.study_update(
                study=study,
                by=request.user,
                expected_version=form.cleaned_data["version"] or 0,
                fields=form.study_fields(),
                reason=form.cleaned_data["reason"],
                sites=rows["sites"],
                conditions=rows["conditions"],
                interventions=rows["interventions"],
                contacts=rows["contacts"],
                **form.status_arguments(),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The study was saved."))
            return redirect("studies:detail", pk=study.pk)
    return _form_page(request, form, formsets, duplicates=[], study=study)


def _form_page(
    request: HttpRequest,
    form: StudyForm,
    formsets: dict,
    *,
    duplicates: list[Study],
    study: Study | None,
) -> HttpResponse:
    parts = [(name, formset, *FORMSET_TITLES[name]) for name, formset in formsets.items()]
    return render(
        request,
        "studies/form.html",
        {
            "form": form,
            "formset_parts": parts,
            "errors": error_summary(form, formsets) if form.is_bound else [],
            "duplicates": duplicates,
            "study": study,
        },
        status=400 if request.method == "POST" else 200,
    )


def _transition(
    request: AuthenticatedHttpRequest, pk: int, action, success: str, **kwargs
) -> HttpResponse:
    study = get_object_or_404(Study.objects.visible_to(request.user), pk=pk)
    try:
        with transaction.atomic():
            action(study=study, by=request.user, **kwargs)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect(reverse("studies:detail", args=[pk]))


@login_required
@require_POST
def study_submit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, services.study_submit, _("The study was submitted."))


@login_required
@require_POST
def study_publish(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = PublishForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"password": "", "reason": "", "otp_token": ""}
    return _transition(
        request, pk, services.study_publish, _("The study was published and signed."), **data
    )


@login_required
@require_POST
def study_return(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = ReturnForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    return _transition(
        request, pk, services.study_return, _("The study was returned."), comment=comment
    )


@login_required
@require_POST
def study_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, services.study_confirm, _("The study was confirmed."))


@login_required
@require_POST
def study_change_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = StatusForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                # An ErrorList yields its messages, never the ValidationErrors it holds.
                messages.error(request, error)  # type: ignore[arg-type]
        return redirect("studies:detail", pk=pk)
    return _transition(
        request,
        pk,
        services.study_change_status,
        _("The status was changed."),
        status=form.cleaned_data["status"],
        effective_date=form.cleaned_data["effective_date"],
        reason=form.cleaned_data["reason"],
    )
