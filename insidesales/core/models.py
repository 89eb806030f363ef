"""Shared base models."""

from django.db import models

from insidesales.core.loading import FastLoading


class TimeStampedModel(FastLoading, models.Model):
    """Adds created/updated timestamps (UTC)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrganizationScopedModel(TimeStampedModel):
    """A row that belongs to one organization (tenant); no query ever crosses organizations."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
