from django.urls import path

from trialnode.counts import views

app_name = "counts"
urlpatterns = [
    path("", views.index, name="index"),
    path("ny/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/fraga-igen/", views.refresh, name="refresh"),
    path("godkannanden/", views.approvals, name="approvals"),
    path("godkannanden/<int:pk>/", views.decide, name="decide"),
    path("kopplade/<str:target_type>/<str:target_id>/", views.attached, name="attached"),
]
