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


class LiveEvent(models.Model):
    """A message for live screens (server-sent events), passed between processes through the database.

    Rows live for minutes (`core.live.prune`); the id orders them, so a listener asks for ids above the
    last it saw."""

    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["topic", "id"], name="liveevent_topic_id")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
