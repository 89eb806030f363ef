"""`insidesales createadmin`: an organization (created if needed) and its administrator."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from insidesales.orgs.models import Organization, Role
from insidesales.orgs.services import member_add, organization_create


class Command(BaseCommand):
    help = "Create an organization administrator (and the organization if it does not exist)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--organization", required=True, help="organization name")
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="read from a prompt when omitted")
        parser.add_argument("--region", default="US", help="default phone region, e.g. US or RU")

    @transaction.atomic
    def handle(self, *args, email, organization, name, password, region, **options):
        if password is None:
            password = getpass.getpass("Password: ")
        if len(password) < 10:
            raise CommandError("Use a password of at least 10 characters.")
        org = Organization.objects.filter(name=organization).first() or organization_create(
            name=organization, slug=slugify(organization) or "org", default_region=region.upper()
        )
        membership = member_add(
            actor=None, organization=org, email=email, full_name=name, role=Role.ADMIN, password=password
        )
        membership.user.is_staff = True
        membership.user.is_superuser = True
        membership.user.save(update_fields=["is_staff", "is_superuser"])
        self.stdout.write(self.style.SUCCESS(f"Admin {membership.user.email} of {org.name} created."))
