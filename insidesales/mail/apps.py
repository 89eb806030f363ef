from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "insidesales.mail"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from insidesales.mail import signals

        signals.connect()
