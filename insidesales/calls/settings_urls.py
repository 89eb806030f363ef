"""URLs of the organization's telephony settings pages (admins only), under settings/telephony/."""

from django.urls import path

from insidesales.calls import settings_views as views

urlpatterns = [
    path("settings/telephony/", views.telephony_settings_edit, name="telephony_settings"),
    path("settings/telephony/windows/", views.telephony_windows, name="telephony_windows"),
    path("settings/telephony/windows/check/", views.telephony_window_check, name="telephony_window_check"),
    path("settings/telephony/caller-ids/", views.caller_id_list, name="telephony_caller_id_list"),
    path("settings/telephony/caller-ids/<int:pk>/edit/", views.caller_id_edit, name="telephony_caller_id_edit"),
    path("settings/telephony/caller-ids/<int:pk>/delete/", views.caller_id_delete, name="telephony_caller_id_delete"),
    path("settings/telephony/dispositions/", views.disposition_list, name="telephony_disposition_list"),
    path("settings/telephony/dispositions/<int:pk>/edit/", views.disposition_edit, name="telephony_disposition_edit"),
    path(
        "settings/telephony/dispositions/<int:pk>/active/",
        views.disposition_set_active,
        name="telephony_disposition_active",
    ),
]
