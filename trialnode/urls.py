from django.contrib import admin
from django.urls import include, path

from trialnode.api import api
from trialnode.core.views import accessibility

urlpatterns = [
    path("", include("trialnode.studies.urls")),
    path("accounts/", include("trialnode.organisations.urls")),
    path("tillganglighet/", accessibility, name="accessibility"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
