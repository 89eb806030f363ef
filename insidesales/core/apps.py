from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "insidesales.core"
    label = "core"

    def ready(self) -> None:
        from insidesales.core import lookups  # noqa: F401  registers the `prefix` lookup
