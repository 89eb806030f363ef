"""URLs: outgoing webhook settings (admins)."""

from django.urls import path

from insidesales.inbound import views_webhooks as views

urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", views.webhook_create, name="webhook_create"),
    path("settings/webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:pk>/edit/", views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("settings/webhooks/<int:pk>/rotate-secret/", views.webhook_rotate_secret, name="webhook_rotate_secret"),
    path("settings/webhooks/<int:pk>/enable/", views.webhook_enable, name="webhook_enable"),
    path("settings/webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<int:pk>/deliveries/", views.webhook_delivery_list, name="webhook_delivery_list"),
    path("settings/webhooks/deliveries/<int:pk>/", views.webhook_delivery_detail, name="webhook_delivery_detail"),
    path("settings/webhooks/deliveries/<int:pk>/redeliver/", views.webhook_redeliver, name="webhook_redeliver"),
]
