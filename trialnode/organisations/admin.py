"""Reference data and accounts, editable by node admins for their own node's regions."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from trialnode.organisations.models import (
    CareProvider,
    HealthcareRegion,
    Locality,
    Node,
    Region,
    Role,
    RoleAssignment,
    Unit,
    User,
)


def _is_node_admin(request: HttpRequest) -> bool:
    user = request.user
    return user.is_active and (user.is_superuser or user.has_role(Role.NODE_ADMIN))


class NodeAdminSite(admin.AdminSite):
    site_header = "trialnode"
    site_title = "trialnode"

    def has_permission(self, request: HttpRequest) -> bool:
        return _is_node_admin(request)


site = NodeAdminSite(name="admin")


class RegionScopedAdmin(admin.ModelAdmin):
    """Node admins change rows in their node's regions; the structure itself is read-only."""

    region_field = "region"

    def _regions(self, request: HttpRequest) -> frozenset[int]:
        user = request.user
        return user.region_ids_for(Role.NODE_ADMIN) if user.is_authenticated else frozenset()

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.region_field}__in": self._regions(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region" and not request.user.is_superuser:
            kwargs["queryset"] = Region.objects.filter(pk__in=self._regions(request))
        if db_field.name == "care_provider" and not request.user.is_superuser:
            kwargs["queryset"] = CareProvider.objects.filter(region__in=self._regions(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_node_admin(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_node_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_node_admin(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_node_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser


class ReadOnlyForNodeAdmins(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_node_admin(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_node_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(HealthcareRegion, site=site)
class HealthcareRegionAdmin(ReadOnlyForNodeAdmins):
    list_display = ["name", "slug"]


@admin.register(Region, site=site)
class RegionAdmin(ReadOnlyForNodeAdmins):
    list_display = ["name", "code", "healthcare_region"]


@admin.register(Node, site=site)
class NodeAdmin(ReadOnlyForNodeAdmins):
    list_display = ["name", "slug"]
    filter_horizontal = ["regions"]


@admin.register(CareProvider, site=site)
class CareProviderAdmin(RegionScopedAdmin):
    list_display = ["name", "kind", "region", "city", "is_active"]
    list_filter = ["kind", "region", "is_active"]
    search_fields = ["name", "aliases"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Unit, site=site)
class UnitAdmin(RegionScopedAdmin):
    region_field = "care_provider__region"
    list_display = ["name", "care_provider"]
    search_fields = ["name", "care_provider__name"]


@admin.register(Locality, site=site)
class LocalityAdmin(RegionScopedAdmin):
    list_display = ["name", "region"]
    search_fields = ["name"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    can_delete = False  # roles are revoked (revoked_at), never deleted: the history stays
    fields = ["role", "region", "node", "care_provider", "granted_at", "revoked_at"]


@admin.register(User, site=site)
class TrialnodeUserAdmin(UserAdmin):
    inlines = [RoleAssignmentInline]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "last_login"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser
