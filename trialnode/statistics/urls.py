from django.urls import path, re_path

from trialnode.statistics import views

app_name = "statistics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("personal/", views.staff_dashboard, name="staff"),
    path("studier/", views.studies_behind, name="studies"),
    path("nationellt/", views.national, name="national"),
    re_path(
        r"^(?P<name>[a-z_-]+)\.(?P<file_format>csv|xlsx)$",
        views.table_download,
        name="download",
    ),
]
