"""Organizations (tenants), users, memberships with roles, teams, agencies, API keys, audit log."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insidesales.core.loading import FastLoading

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("Email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(FastLoading, AbstractBaseUser, PermissionsMixin):
    """A person who logs in by email. What they may see comes from their Membership."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, default="en", choices=[("en", "English"), ("ru", "Русский")]
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", choices=TIMEZONE_CHOICES)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff (Django admin)"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]


class Organization(FastLoading, models.Model):
    """A tenant: one company using Inside Sales. Every domain row carries its id."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    default_region = models.CharField(
        _("default phone region"),
        max_length=2,
        default="US",
        help_text=_("ISO country code used to read national phone numbers."),
    )
    default_currency = models.CharField(_("currency"), max_length=3, default="USD")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", choices=TIMEZONE_CHOICES)
    reps_see_unassigned = models.BooleanField(
        _("inside reps see unassigned records"),
        default=True,
        help_text=_("The unassigned pool is visible to every inside rep."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Raised by `orgs.directory` whenever people, teams, agencies, tags or saved views change; what
    # pages cache about the organization is valid only for the version it was read at.
    directory_version = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Saving an organization read a while ago must never put back an older directory version.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name != "directory_version"
            ]
        super().save(*args, **kwargs)


class Team(FastLoading, models.Model):
    """A group of reps with one or more managers."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=200)
    managers = models.ManyToManyField(User, blank=True, related_name="managed_teams", verbose_name=_("managers"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class Agency(FastLoading, models.Model):
    """A third-party company the organization outsources inside sales to.

    Its users see only records assigned to the agency; switching it off cuts their access at once.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agencies")
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="agency_unique_name")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    INSIDE_REP = "inside_rep", _("Inside rep")
    FIELD_REP = "field_rep", _("Field rep")
    AGENCY_REP = "agency_rep", _("Agency rep")


class Membership(FastLoading, models.Model):
    """A user's place in an organization: role, team and (for agency reps) agency."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.INSIDE_REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.CASCADE, related_name="members")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user"),
            models.CheckConstraint(
                condition=~models.Q(role="agency_rep") | models.Q(agency__isnull=False),
                name="membership_agency_rep_has_agency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiKey(models.Model):
    """A per-user API key. Only a SHA-256 of the secret is stored; the key is shown once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditLog(models.Model):
    """One row per write: who did what to which object, with before/after of changed fields."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField(null=True)
    object_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_created"),
            models.Index(fields=["organization", "object_type", "object_id"], name="audit_org_object"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"
