from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import services, trail
from trialnode.audit.forms import EventFilterForm, ReviewOutcomeForm, ReviewPlanForm
from trialnode.audit.models import AuditEvent, AuditReview
from trialnode.audit.permissions import events_readable_by
from trialnode.audit.selectors import EventFilter, can_review_trail, readable
from trialnode.core import spreadsheets
from trialnode.organisations.http import AuthenticatedHttpRequest

CSV_COLUMNS = [
    "seq",
    "occurred_at",
    "action",
    "object_type",
    "object_id",
    "object",
    "user",
    "roles",
    "via",
    "reason",
    "from_state",
    "to_state",
    "changes",
    "ip",
    "request_id",
]


def _require_auditor(request: HttpRequest) -> None:
    if not can_review_trail(request.user):
        raise PermissionDenied


def _csv_rows(events, reader):
    for event in events.iterator(chunk_size=2000):
        item = readable(event, reader=reader)
        yield [
            item.seq,
            timezone.localtime(item.occurred_at).isoformat(),
            item.action_label,
            item.object_type,
            item.object_id,
            item.object_repr,
            item.actor_name,
            item.actor_roles,
            item.via,
            item.reason,
            item.from_state or "",
            item.to_state or "",
            "; ".join(f"{field}: {old!r} → {new!r}" for field, old, new in item.changes),
            item.ip or "",
            item.request_id,
        ]


def csv_response(events, *, reader, filename: str) -> StreamingHttpResponse:
    trail.record_event(
        action=AuditEvent.Action.EXPORT,
        object_type="audit.auditevent",
        extra={"export": filename, "events": events.count()},
    )
    return spreadsheets.csv_response(filename, CSV_COLUMNS, _csv_rows(events, reader))


@login_required
def event_list(request: AuthenticatedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    _require_auditor(request)
    form = EventFilterForm(request.GET or None)
    events: QuerySet[AuditEvent] = events_readable_by(request.user).order_by("-seq")
    if form.is_valid():
        events = EventFilter(**form.cleaned_data).apply(events)
    elif form.is_bound:
        events = AuditEvent.objects.none()
    if request.GET.get("format") == "csv":
        return csv_response(events.order_by("seq"), reader=request.user, filename="audit-trail.csv")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "events": [readable(e, reader=request.user) for e in page.object_list],
            "query": request.GET.urlencode(),
        },
    )


@login_required
def review_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_auditor(request)
    form = ReviewPlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_plan(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The review was planned."))
            return redirect("audit:reviews")
    return render(
        request,
        "audit/review_list.html",
        {
            "form": form,
            "reviews": AuditReview.objects.select_related("reviewer")[:200],
        },
    )


@login_required
def review_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_auditor(request)
    review = get_object_or_404(AuditReview, pk=pk)
    form = ReviewOutcomeForm(request.POST or None, instance=review)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_complete(
                review=review,
                by=request.user,
                outcome=form.cleaned_data["outcome"],
                findings=form.cleaned_data["findings"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The outcome was recorded."))
            return redirect("audit:reviews")
    return render(request, "audit/review_detail.html", {"review": review, "form": form})
