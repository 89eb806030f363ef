"""URL routes: one-off emails (compose from a record, fill from a template, cancel a scheduled one)."""

from django.urls import path

from insidesales.mail.views import compose as views

urlpatterns = [
    path("emails/new/", views.compose, name="email_compose"),
    path("emails/new/fill/", views.compose_fill, name="email_compose_fill"),
    path("emails/<int:pk>/cancel/", views.compose_cancel, name="email_cancel"),
]
