"""The email pages: mailboxes and sending settings, messages, templates, composing, sequences, unsubscribing."""

from django.urls import include, path

urlpatterns = [
    path("", include("insidesales.mail.urls_mailboxes")),
    path("", include("insidesales.mail.urls_messages")),
    path("", include("insidesales.mail.urls_templates")),
    path("", include("insidesales.mail.urls_compose")),
    path("", include("insidesales.mail.urls_sequences")),
    path("", include("insidesales.mail.urls_unsubscribe")),
]
