"""URL routes: the unsubscribe link of sequence emails (signed token, no sign-in)."""

from django.urls import path

from insidesales.mail.views.unsubscribe import unsubscribe_view

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe_view, name="mail_unsubscribe"),
]
