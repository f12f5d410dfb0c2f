from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from trialnode.audit.permissions import sees_client_addresses
from trialnode.core import spreadsheets
from trialnode.organisations import login_protection, permissions, twofactor
from trialnode.organisations.forms import SecondFactorForm
from trialnode.organisations.http import AuthenticatedHttpRequest
from trialnode.organisations.models import RoleAssignment

ACCESS_REVIEW_COLUMNS = [
    "user",
    "name",
    "active",
    "role",
    "scope",
    "granted_at",
    "granted_by",
    "revoked_at",
    "last_login",
]


def _access_review_row(a: RoleAssignment) -> list[object]:
    return [
        a.user.username,
        a.user.get_full_name(),
        a.user.is_active,
        a.role,
        a.region or a.node or a.care_provider or "",
        timezone.localtime(a.granted_at),
        a.granted_by or "",
        timezone.localtime(a.revoked_at) if a.revoked_at else "",
        timezone.localtime(a.user.last_login) if a.user.last_login else "",
    ]


@login_required
def access_review(request: AuthenticatedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Who holds which role where in the reviewer's node, since when, granted by whom, and
    their last login."""
    if not permissions.can_review_access(request.user):
        raise PermissionDenied
    assignments = (
        permissions.assignments_reviewable_by(request.user)
        .select_related("user", "region", "node", "care_provider", "granted_by")
        .order_by("user__username", "role", "granted_at")
    )
    if request.GET.get("history") != "1":
        assignments = assignments.filter(revoked_at__isnull=True)
    if request.GET.get("format") == "csv":
        return spreadsheets.csv_response(
            "access-review.csv",
            ACCESS_REVIEW_COLUMNS,
            (_access_review_row(a) for a in assignments),
            delimiter=spreadsheets.delimiter_for(request),
        )
    return render(
        request,
        "organisations/access_review.html",
        {
            "assignments": assignments,
            "history": request.GET.get("history") == "1",
        },
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("studies:workspace")


@login_required
def second_factor_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = twofactor.verify_second_factor(
                user=request.user, token=form.cleaned_data["token"]
            )
        except ValidationError as exc:
            form.add_error("token", exc)
        else:
            otp_login(request, device)
            return redirect(_next_url(request))
    return render(
        request,
        "organisations/second_factor_verify.html",
        {"form": form, "next": _next_url(request)},
    )


@login_required
def second_factor_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    if twofactor.confirmed_device(request.user) is not None and not request.user.is_verified():
        return redirect("second_factor_verify")
    device = twofactor.pending_device(request.user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            twofactor.second_factor_confirm(
                user=request.user, device=device, token=form.cleaned_data["token"]
            )
        except ValidationError as exc:
            form.add_error("token", exc)
        else:
            otp_login(request, device)
            messages.success(request, _("Your authenticator is set up."))
            return redirect(_next_url(request))
    return render(
        request,
        "organisations/second_factor_setup.html",
        {
            "form": form,
            "qr_svg": twofactor.qr_svg(device),
            "secret": twofactor.secret_text(device),
            "next": _next_url(request),
        },
    )


@login_required
def lockout_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Logins locked after failed attempts, for the node admin to see and lift."""
    if not login_protection.may_lift_lockouts(request.user):
        raise PermissionDenied
    return render(
        request,
        "organisations/lockout_list.html",
        {
            "lockouts": login_protection.lockouts_visible_to(request.user)[:500],
            "failure_limit": settings.LOGIN_FAILURE_LIMIT,
            "shows_addresses": sees_client_addresses(request.user),
        },
    )


@login_required
@require_POST
def lockout_lift(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    attempt = login_protection.lockout_lift(attempt_id=pk, by=request.user)
    messages.success(
        request, _("The lock of %(username)s was lifted.") % {"username": attempt.username}
    )
    return redirect("lockouts")
