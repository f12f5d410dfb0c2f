from django.urls import path

from trialnode.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="events"),
    path("granskningar/", views.review_list, name="reviews"),
    path("granskningar/<int:pk>/", views.review_detail, name="review"),
]
