"""URLs of the calls pages."""

from django.urls import include, path

from insidesales.calls import campaign_views, desk_views, views, webhooks

urlpatterns = [
    path("calls/", views.call_list, name="call_list"),
    path("calls/dial/lead/<int:pk>/", views.call_dial, {"record_type": "lead"}, name="call_dial_lead"),
    path("calls/dial/contact/<int:pk>/", views.call_dial, {"record_type": "contact"}, name="call_dial_contact"),
    path("calls/dial/company/<int:pk>/", views.call_dial, {"record_type": "company"}, name="call_dial_company"),
    path("calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("calls/<int:pk>/events/", views.call_events, name="call_events"),
    path("calls/<int:pk>/hangup/", views.call_hangup, name="call_hangup"),
    path("calls/<int:pk>/dispose/", views.call_dispose, name="call_dispose"),
    path("do-not-call/", views.dnc_list, name="dnc_list"),
    path("do-not-call/import/", views.dnc_import, name="dnc_import"),
    path("do-not-call/<int:pk>/delete/", views.dnc_delete, name="dnc_delete"),
    path("telephony/twilio/status/", webhooks.twilio_status, name="twilio_status"),
    path("telephony/twilio/voice/", webhooks.twilio_voice, name="twilio_voice"),
    path("telephony/twilio/dial-done/", webhooks.twilio_dial_done, name="twilio_dial_done"),
    path("calls/incoming/simulate/", views.call_incoming_simulate, name="call_incoming_simulate"),
    path("", include("insidesales.calls.settings_urls")),
    path("dialer/", desk_views.desktop, name="desktop"),
    path("dialer/state/", desk_views.desktop_state, name="desktop_state"),
    path("dialer/dial/", desk_views.desktop_dial, name="desktop_dial"),
    path("dialer/phone/", desk_views.desktop_phone, name="desktop_phone"),
    path("dialer/skip/", desk_views.desktop_skip, name="desktop_skip"),
    path("dialer/events/", desk_views.desktop_events, name="desktop_events"),
    path("dialer/wallboard/", desk_views.wallboard, name="wallboard"),
    path("campaigns/", campaign_views.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", campaign_views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", campaign_views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/status/", campaign_views.campaign_status, name="campaign_status"),
    path("campaigns/<int:pk>/talk-track/", campaign_views.campaign_talk_track, name="campaign_talk_track"),
    path("campaigns/<int:pk>/compliance.csv", campaign_views.campaign_compliance, name="campaign_compliance"),
]
