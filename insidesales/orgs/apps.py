from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "insidesales.orgs"
    label = "orgs"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from insidesales.orgs import directory

        directory.connect()
