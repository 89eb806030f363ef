"""URLs of the calls pages."""

from django.urls import path

from insidesales.calls import views, webhooks

urlpatterns = [
    path("calls/", views.call_list, name="call_list"),
    path("calls/dial/lead/<int:pk>/", views.call_dial, {"record_type": "lead"}, name="call_dial_lead"),
    path("calls/dial/contact/<int:pk>/", views.call_dial, {"record_type": "contact"}, name="call_dial_contact"),
    path("calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("calls/<int:pk>/events/", views.call_events, name="call_events"),
    path("calls/<int:pk>/hangup/", views.call_hangup, name="call_hangup"),
    path("calls/<int:pk>/dispose/", views.call_dispose, name="call_dispose"),
    path("do-not-call/", views.dnc_list, name="dnc_list"),
    path("do-not-call/import/", views.dnc_import, name="dnc_import"),
    path("do-not-call/<int:pk>/delete/", views.dnc_delete, name="dnc_delete"),
    path("telephony/twilio/status/", webhooks.twilio_status, name="twilio_status"),
]
