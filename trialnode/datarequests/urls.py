from django.urls import path

from trialnode.datarequests import views

app_name = "datarequests"
urlpatterns = [
    path("", views.index, name="index"),
    path("ny/", views.new, name="new"),
    path("variabelmall.xlsx", views.variables_template, name="variables_template"),
    path("handbok/", views.handbook, name="handbook"),
    path("handbok/ny/", views.handbook_edit, name="handbook_new"),
    path("handbok/<slug:slug>/", views.handbook_page, name="handbook_page"),
    path("handbok/<slug:slug>/redigera/", views.handbook_edit, name="handbook_edit"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/redigera/", views.edit, name="edit"),
    path("<int:pk>/steg/<slug:name>/", views.step, name="step"),
    path("<int:pk>/bilagor/", views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/bilagor/<int:attachment_pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/variabler/", views.variables_upload, name="variables_upload"),
]
