"""URL configuration: the web UI, the REST API under /api/v1/, and the Django admin back office."""

from django.contrib import admin
from django.urls import include, path

from insidesales.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("insidesales.orgs.urls")),
    path("", include("insidesales.crm.urls")),
    path("", include("insidesales.imports.urls")),
    path("", include("insidesales.calls.urls")),
    path("", include("insidesales.mail.urls")),
    path("", include("insidesales.inbound.urls")),
]
