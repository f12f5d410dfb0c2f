from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trialnode.organisations.models import Role, RoleAssignment


def _may_review_access(user) -> bool:
    return user.is_active and (
        user.is_superuser or bool(user.active_roles() & {Role.AUDITOR, Role.NODE_ADMIN})
    )


@login_required
def access_review(request: HttpRequest) -> HttpResponse:
    """Who holds which role where, since when, granted by whom, and their last login."""
    if not _may_review_access(request.user):
        raise PermissionDenied
    assignments = RoleAssignment.objects.select_related(
        "user", "region", "node", "care_provider", "granted_by"
    ).order_by("user__username", "role", "granted_at")
    if request.GET.get("history") != "1":
        assignments = assignments.filter(revoked_at__isnull=True)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="access-review.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
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
        )
        for a in assignments:
            writer.writerow(
                [
                    a.user.username,
                    a.user.get_full_name(),
                    a.user.is_active,
                    a.role,
                    a.region or a.node or a.care_provider or "",
                    timezone.localtime(a.granted_at).isoformat(),
                    a.granted_by or "",
                    timezone.localtime(a.revoked_at).isoformat() if a.revoked_at else "",
                    timezone.localtime(a.user.last_login).isoformat() if a.user.last_login else "",
                ]
            )
        return response
    return render(
        request,
        "organisations/access_review.html",
        {
            "assignments": assignments,
            "history": request.GET.get("history") == "1",
        },
    )
