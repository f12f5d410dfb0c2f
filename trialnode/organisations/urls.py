from django.contrib.auth import views as auth_views
from django.urls import path

from trialnode.organisations.views import (
    access_review,
    lockout_lift,
    lockout_list,
    second_factor_setup,
    second_factor_verify,
)

urlpatterns = [
    path("behorigheter/", access_review, name="access_review"),
    path("inloggningssparrar/", lockout_list, name="lockouts"),
    path("inloggningssparrar/<int:pk>/hav/", lockout_lift, name="lockout_lift"),
    path("tvafaktor/", second_factor_verify, name="second_factor_verify"),
    path("tvafaktor/ny/", second_factor_setup, name="second_factor_setup"),
    path(
        "login/",
        auth_views.LoginView.as_view(),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    path("reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
