from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "insidesales.calls"
    label = "calls"
    verbose_name = "Calls"
