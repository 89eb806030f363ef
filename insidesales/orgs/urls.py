"""URLs of the application shell: sign-in and password reset, home, search, settings, admin pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from insidesales.orgs import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    # sign-in, sign-out, password reset
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    # personal settings
    path("settings/", views.preferences, name="settings"),
    path("settings/language/", views.language_switch, name="language_switch"),
    path("settings/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    # administrators
    path("audit/", views.audit_log, name="audit_log"),
    path("agencies/", views.agency_list, name="agency_list"),
    path("agencies/<int:agency_id>/active/", views.agency_set_active, name="agency_set_active"),
]
