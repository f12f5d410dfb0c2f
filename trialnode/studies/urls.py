from django.urls import path

from trialnode.studies import views

app_name = "studies"
urlpatterns = [
    path("", views.search, name="search"),
    path("studier/<int:pk>/", views.study_detail, name="detail"),
    path("studier/<int:pk>/historik/", views.study_history, name="history"),
    path("arbetsyta/", views.workspace, name="workspace"),
    path("studier/ny/", views.study_create, name="create"),
    path("studier/<int:pk>/andra/", views.study_edit, name="edit"),
    path("studier/<int:pk>/skicka-in/", views.study_submit, name="submit"),
    path("studier/<int:pk>/publicera/", views.study_publish, name="publish"),
    path("studier/<int:pk>/returnera/", views.study_return, name="return"),
    path("studier/<int:pk>/bekrafta/", views.study_confirm, name="confirm"),
    path("studier/<int:pk>/status/", views.study_change_status, name="status"),
]
