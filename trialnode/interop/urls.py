from django.urls import path, re_path

from trialnode.interop import views

export_urlpatterns = [
    re_path(r"^studier\.(?P<file_format>csv|xlsx)$", views.export_studies, name="export_studies"),
]

urlpatterns = [
    path("ResearchStudy", views.research_study_search, name="fhir_research_study_search"),
    path("ResearchStudy/<int:pk>", views.research_study_read, name="fhir_research_study"),
]
