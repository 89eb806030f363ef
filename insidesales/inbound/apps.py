from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboundConfig(AppConfig):
    name = "insidesales.inbound"
    label = "inbound"
    verbose_name = _("Inbound")
    default_auto_field = "django.db.models.BigAutoField"
