from django.urls import path, re_path

from trialnode.interop import views

link_urlpatterns = [
    path("", views.link_queue, name="link_queue"),
    path("<int:pk>/", views.link_decide, name="link_decide"),
    path("platser/", views.unmatched_sites, name="unmatched_sites"),
    path("kalkylark/", views.spreadsheet_import, name="spreadsheet_import"),
    path("kalkylark/mall.xlsx", views.spreadsheet_template, name="spreadsheet_template"),
    path("register/", views.registry_import, name="registry_import"),
]

export_urlpatterns = [
    re_path(
        r"^studier\.(?P<file_format>csv|xlsx|json)$", views.export_studies, name="export_studies"
    ),
]

urlpatterns = [
    path("metadata", views.capability_statement_read, name="fhir_metadata"),
    path("ResearchStudy", views.research_study_search, name="fhir_research_study_search"),
    path("ResearchStudy/<int:pk>", views.research_study_read, name="fhir_research_study"),
    path("R5/ResearchStudy/<int:pk>", views.research_study_read_r5, name="fhir_r5_research_study"),
]
