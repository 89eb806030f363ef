"""URLs of the inbound app: the public form pages (no login), and the signed-in pages for forms, routing,
notifications, speed to lead and webhooks."""

from django.urls import include, path

urlpatterns = [
    path("", include("insidesales.inbound.urls_public")),
    path("", include("insidesales.inbound.urls_forms")),
    path("", include("insidesales.inbound.urls_routing")),
    path("", include("insidesales.inbound.urls_notifications")),
    path("", include("insidesales.inbound.urls_speed")),
    path("", include("insidesales.inbound.urls_webhooks")),
]
