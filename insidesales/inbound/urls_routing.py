"""URLs: routing rules, "test this lead" (under settings/routing/) and reps' availability (settings/availability/)."""

from django.urls import path

from insidesales.inbound import views_routing as views

urlpatterns = [
    path("settings/routing/", views.routing_rule_list, name="routing_rule_list"),
    path("settings/routing/new/", views.routing_rule_create, name="routing_rule_create"),
    path("settings/routing/test/", views.routing_test, name="routing_test"),
    path("settings/routing/<int:pk>/edit/", views.routing_rule_edit, name="routing_rule_edit"),
    path("settings/routing/<int:pk>/delete/", views.routing_rule_delete, name="routing_rule_delete"),
    path("settings/routing/<int:pk>/move/", views.routing_rule_move, name="routing_rule_move"),
    path("settings/routing/<int:pk>/active/", views.routing_rule_active, name="routing_rule_active"),
    path("settings/availability/", views.availability_list, name="availability_list"),
    path("settings/availability/<int:user_id>/", views.availability_edit, name="availability_edit"),
]
