"""URL routes: emails sent and received, their formatted view and their attachments."""

from django.urls import path

from insidesales.mail.views import messages

urlpatterns = [
    path("emails/", messages.email_list, name="email_list"),
    path("emails/<int:pk>/", messages.email_detail, name="email_detail"),
    path("emails/<int:pk>/html/", messages.email_html, name="email_html"),
    path(
        "emails/<int:pk>/attachments/<int:attachment_id>/",
        messages.email_attachment,
        name="email_attachment",
    ),
]
