"""URLs of a person's alerts: the list, the live stream, marking read."""

from django.urls import path

from insidesales.inbound import views_notifications as views

urlpatterns = [
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/stream/", views.notification_stream, name="notification_events"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
