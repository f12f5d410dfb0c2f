from django.urls import include, path

from trialnode.api import api
from trialnode.core.views import accessibility, health
from trialnode.interop.urls import export_urlpatterns, link_urlpatterns
from trialnode.organisations.admin import site as admin_site

urlpatterns = [
    path("", include("trialnode.studies.urls")),
    path("accounts/", include("trialnode.organisations.urls")),
    path("tillganglighet/", accessibility, name="accessibility"),
    path("healthz", health, name="health"),
    path("granskning/", include("trialnode.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin_site.urls),
    path("api/v1/", api.urls),
    path("fhir/", include("trialnode.interop.urls")),
    path("export/", include(export_urlpatterns)),
    path("koppling/", include(link_urlpatterns)),
    path("jobb/", include("trialnode.jobs.urls")),
    path("statistik/", include("trialnode.statistics.urls")),
    path("antal/", include("trialnode.counts.urls")),
    path("forfragningar/", include("trialnode.feasibility.urls")),
    path("datauttag/", include("trialnode.datarequests.urls")),
]
