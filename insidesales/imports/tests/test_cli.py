"""`insidesales import`: the same import from the command line, with a mapping by header names, and undo."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from insidesales.crm.models import Lead
from insidesales.imports.models import ImportJob, ImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def list_file(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    path = tmp_path / "trade-show.csv"
    path.write_text(
        "Contact;Organisation;Mobile;Mail;Ignored\r\n"
        "Анна Иванова;ООО Ромашка;8 916 123-45-67;anna@example.ru;x\r\n"
        "Bob Stone;Acme;+1 415 555 0100;not-an-email;y\r\n",
        encoding="cp1251",
        errors="replace",
    )
    return path


def test_import_with_a_mapping_by_header_names_then_undo(world, list_file, capsys):
    world.org.default_region = "RU"  # "8 916 ..." is a Russian number written the Russian way
    world.org.save()
    call_command(
        "import",
        str(list_file),
        "--organization",
        world.org.slug,
        "--user",
        world.admin.user.email,
        "--map",
        "Contact=name,Organisation=company_name,Mobile=phone,Mail=email",
        "--owner",
        world.rep2.user.email,
        "--source",
        "event",
    )
    out = capsys.readouterr().out
    assert "created 1" in out and "rejected 1" in out and "Ignored" not in out.split("\n")[0]
    lead = Lead.objects.get(organization=world.org, email="anna@example.ru")
    assert (lead.first_name, lead.last_name, lead.company_name) == ("Анна", "Иванова", "ООО Ромашка")
    assert (lead.owner_id, lead.source) == (world.rep2.user_id, "event")
    job = ImportJob.objects.get()
    call_command("import", "--undo", str(job.pk), "--organization", world.org.slug, "--user", world.admin.user.email)
    assert not Lead.objects.filter(email="anna@example.ru").exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "Nope=email"], "no column “Nope”"),
        (["--map", "Mail=favourite_colour"], "unknown field"),
        (["--user", "nobody@example.com"], "not an active member"),
        (["--owner", "nobody@example.com"], "not a member"),
    ],
)
def test_mistakes_on_the_command_line_are_explained(world, list_file, args, message):
    base = {"--organization": world.org.slug, "--user": world.admin.user.email}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    with pytest.raises(CommandError) as error:
        call_command("import", str(list_file), *[x for pair in base.items() for x in pair])
    assert message in str(error.value)
    assert not Lead.objects.filter(email="anna@example.ru").exists()


def test_import_contacts_from_the_command_line(world, tmp_path, settings, capsys):
    settings.DATA_DIR = tmp_path
    path = tmp_path / "people.csv"
    path.write_text("Name,Company,Website\r\nDana Reyes,Initech,initech.example\r\nEli Stone,Initech,\r\n")
    call_command(
        "import", str(path), "--type", "contact", "--organization", world.org.slug, "--user", world.admin.user.email
    )
    out = capsys.readouterr().out
    assert "created 2" in out and "1 companies created for the contacts" in out
    from insidesales.crm.models import Company, Contact

    company = Company.objects.get(organization=world.org, domain="initech.example")
    assert set(Contact.objects.filter(company=company).values_list("last_name", flat=True)) == {"Reyes", "Stone"}
    assert ImportJob.objects.get().record_type == "contact"
