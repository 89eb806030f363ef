"""URL routes: a user's mailboxes (settings/mailboxes/), the organization's sending settings (settings/mail/,
admins) and its suppression list (settings/mail/suppressions/)."""

from django.urls import path

from insidesales.mail.views import mail_settings, mailboxes

urlpatterns = [
    path("settings/mailboxes/", mailboxes.mailbox_list_page, name="mailbox_list"),
    path("settings/mailboxes/add/", mailboxes.mailbox_add, name="mailbox_add"),
    path("settings/mailboxes/<int:pk>/", mailboxes.mailbox_edit, name="mailbox_edit"),
    path("settings/mailboxes/<int:pk>/test/", mailboxes.mailbox_test, name="mailbox_test"),
    path("settings/mailboxes/<int:pk>/delete/", mailboxes.mailbox_delete, name="mailbox_delete"),
    path("settings/mail/", mail_settings.mail_settings_edit, name="mail_settings"),
    path("settings/mail/suppressions/", mail_settings.suppression_list_page, name="suppression_list"),
    path(
        "settings/mail/suppressions/<int:pk>/remove/",
        mail_settings.suppression_remove,
        name="suppression_remove",
    ),
]
