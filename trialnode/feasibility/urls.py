from django.urls import path

from trialnode.feasibility import views

app_name = "feasibility"
urlpatterns = [
    path("", views.index, name="index"),
    path("organisation/", views.organisation, name="organisation"),
    path("ny/<str:kind>/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/synopsis/", views.synopsis, name="synopsis"),
    path("<int:pk>/fraga/", views.ask, name="ask"),
    path("<int:pk>/svara/", views.reply, name="reply"),
    path("<int:pk>/komplett/", views.triage, name="triage"),
    path("<int:pk>/mottagare/", views.recipients, name="recipients"),
    path("<int:pk>/paminn/", views.remind, name="remind"),
    path("<int:pk>/sammanstall/", views.compile_answer, name="compile"),
    path("<int:pk>/stang/", views.close, name="close"),
    path("<int:pk>/svar.xlsx", views.answers_download, name="answers_download"),
    path("katalog/", views.directory, name="directory"),
    path("katalog/<int:pk>/", views.directory_entry, name="directory_entry"),
    path("svar/<int:recipient_id>/<str:token>/", views.answer, name="answer"),
    path(
        "svar/<int:recipient_id>/<str:token>/synopsis/",
        views.answer_synopsis,
        name="answer_synopsis",
    ),
]
