from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "insidesales.crm"
    label = "crm"
    verbose_name = "Records"
