"""Pages: count requests, the criteria builder, the federated result, the officer's queue."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialnode.counts import federation, services
from trialnode.counts.builder import BuildError, build
from trialnode.counts.engines import EngineError
from trialnode.counts.forms import BuilderForm, CriteriaFormSet, DecisionForm
from trialnode.counts.models import (
    OFFICER_ROLES,
    CountRequest,
    DataSource,
    NodeQuery,
    Peer,
)
from trialnode.counts.selectors import request_summary, requests_for


def _is_officer(user) -> bool:
    return user.is_superuser or any(user.has_role(role) for role in OFFICER_ROLES)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    if not services.may_use(request.user):
        raise PermissionDenied
    return render(
        request,
        "counts/index.html",
        {
            "requests": CountRequest.objects.visible_to(request.user)
            .select_related("created_by", "study")
            .order_by("-created_at")[:100],
            "peers": Peer.objects.filter(is_active=True).select_related("region"),
            "can_count": services.can_count(request.user),
            "is_officer": _is_officer(request.user),
            "waiting": NodeQuery.objects.awaiting_approval_by(request.user).count(),
            "used_today": services.queries_today(request.user),
            "daily_limit": services.settings.TRIALNODE_COUNTS_DAILY_LIMIT,
            "has_data": DataSource.objects.filter(is_active=True).exists(),
        },
    )


def _attachment(request: HttpRequest) -> dict[str, Any]:
    """The study or record a new count is attached to (from the query string)."""
    from trialnode.studies.models import Study

    source = request.POST if request.method == "POST" else request.GET
    study = None
    study_id = source.get("study", "")
    if study_id:
        if not study_id.isdigit():
            raise PermissionDenied
        study = get_object_or_404(Study.objects.visible_to(request.user), pk=int(study_id))
    target_type = source.get("target_type", "")[:100]
    target_id = source.get("target_id", "")[:64]
    return {"study": study, "target_type": target_type, "target_id": target_id}


def _error_list(form: BuilderForm, formset, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(anchor, message) for the error summary at the top of the page."""
    errors: list[tuple[str, str]] = []
    for name, messages_ in form.errors.items():
        anchor = f"id_{name}" if name != "__all__" else "builder"
        errors.extend(
            (anchor, f"{form.fields[name].label if name in form.fields else ''}: {m}")
            for m in messages_
        )
    for index, subform in enumerate(formset.forms):
        for name, messages_ in subform.errors.items():
            errors.extend(
                (
                    f"id_form-{index}-{name}",
                    _("Criterion %(n)s: %(message)s") % {"n": index + 1, "message": m},
                )
                for m in messages_
            )
    for message in formset.non_form_errors():
        errors.append(("criteria", message))
    errors.extend(extra)
    return errors


@login_required
def new(request: HttpRequest) -> HttpResponse:
    """The criteria builder: Swedish codes in, Circe JSON shown, the count sent out."""
    if not services.can_count(request.user):
        raise PermissionDenied
    attachment = _attachment(request)
    definition: dict[str, Any] | None = None
    resolutions: list = []
    problems: list[tuple[str, str]] = []
    if request.method == "POST":
        form = BuilderForm(request.POST)
        formset = CriteriaFormSet(request.POST)
        if form.is_valid() and formset.is_valid():
            definition, resolutions, problems = _definition(form, formset)
            if definition is not None and request.POST.get("action") == "send":
                try:
                    created = federation.count_request_create(
                        by=request.user,
                        title=form.cleaned_data["title"],
                        definition=definition,
                        study=attachment["study"],
                        target_type=attachment["target_type"],
                        target_id=attachment["target_id"],
                        base_url=request.build_absolute_uri("/"),
                    )
                except ValidationError as exc:
                    problems.append(("builder", " ".join(exc.messages)))
                except PermissionDenied as exc:
                    problems.append(("builder", str(exc)))
                else:
                    return redirect("counts:detail", pk=created.pk)
    else:
        form = BuilderForm(initial={"first_event": True, "prior_days": 0})
        formset = CriteriaFormSet()
    errors = _error_list(form, formset, problems)
    return render(
        request,
        "counts/new.html",
        {
            "form": form,
            "formset": formset,
            "errors": errors,
            "definition": definition,
            "definition_text": json.dumps(definition, indent=2, ensure_ascii=False)
            if definition
            else "",
            "resolutions": resolutions,
            **attachment,
        },
        status=400 if errors and request.method == "POST" else 200,
    )


def _definition(form: BuilderForm, formset) -> tuple[dict | None, list, list[tuple[str, str]]]:
    if form.definition is not None:
        return form.definition, [], []
    criteria = [
        sub.criterion()
        for sub in formset.forms
        if sub.cleaned_data and sub.cleaned_data.get("codes")
    ]
    if not form.cleaned_data.get("entry_codes"):
        return None, [], [("id_entry_codes", _("Give the codes patients are counted from."))]
    engine = services.vocabulary_engine()
    if engine is None:
        return (
            None,
            [],
            [("builder", _("No OMOP vocabulary is configured here: paste Circe JSON."))],
        )
    try:
        built = build(form.spec(criteria), engine)
    except BuildError as exc:
        return None, [], [(_anchor(where), message) for where, message in exc.problems]
    except EngineError as exc:
        return None, [], [("builder", str(exc))]
    finally:
        engine.close()
    return built.definition, built.resolutions, []


def _anchor(where: str) -> str:
    if where == "entry":
        return "id_entry_codes"
    if where.startswith("criteria-"):
        return f"id_form-{where.split('-')[1]}-codes"
    return f"id_{where}" if where in ("sex",) else "builder"


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    count_request = get_object_or_404(
        CountRequest.objects.visible_to(request.user).select_related("created_by", "study"), pk=pk
    )
    return render(
        request,
        "counts/detail.html",
        {
            "item": count_request,
            "summary": request_summary(count_request),
            "definition_text": json.dumps(count_request.definition, indent=2, ensure_ascii=False),
        },
    )


@login_required
@require_POST
def refresh(request: HttpRequest, pk: int) -> HttpResponse:
    count_request = get_object_or_404(CountRequest.objects.visible_to(request.user), pk=pk)
    federation.count_request_refresh(
        request=count_request, by=request.user, base_url=request.build_absolute_uri("/")
    )
    messages.success(request, _("The regions that had not answered were asked again."))
    return redirect("counts:detail", pk=pk)


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    if not _is_officer(request.user):
        raise PermissionDenied
    sources = DataSource.objects.approvable_by(request.user)
    return render(
        request,
        "counts/approvals.html",
        {
            "waiting": NodeQuery.objects.awaiting_approval_by(request.user).select_related(
                "source", "hub"
            ),
            "recent": NodeQuery.objects.filter(source__in=sources)
            .exclude(state=NodeQuery.State.AWAITING_APPROVAL)
            .select_related("source", "hub")[:50],
            "form": DecisionForm(),
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    query = get_object_or_404(NodeQuery.objects.awaiting_approval_by(request.user), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
        return redirect("counts:approvals")
    try:
        services.node_query_decide(
            query=query,
            by=request.user,
            approve=form.cleaned_data["decision"] == "approve",
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The decision was recorded."))
    return redirect("counts:approvals")


@login_required
def attached(request: HttpRequest, target_type: str, target_id: str) -> HttpResponse:
    """The counts attached to one record, per region: for a study plan or an inquiry."""
    if not services.may_use(request.user):
        raise PermissionDenied
    return render(
        request,
        "counts/attached.html",
        {
            "items": requests_for(target_type, target_id, request.user),
            "target_type": target_type,
            "target_id": target_id,
            "can_count": services.can_count(request.user),
        },
    )
