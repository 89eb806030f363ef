"""URLs of speed to lead: the report, and the working hours response deadlines count in."""

from django.urls import path

from insidesales.inbound import views_speed as views

urlpatterns = [
    path("reports/speed-to-lead/", views.speed_to_lead, name="speed_to_lead"),
    path("settings/working-hours/", views.working_hours, name="inbound_working_hours"),
]
