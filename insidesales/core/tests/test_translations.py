"""The Russian translation is complete, compiled, and what a Russian user actually sees.

The project has one catalog, `insidesales/locale/ru/LC_MESSAGES/django.po`. These tests read it as text
(no translation library needed), check the committed `.mo` against it, and render the main pages for a
Russian user to catch words that were never wrapped for translation.
"""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm import services
from insidesales.crm.models import Deal, Stage, StageKind
from insidesales.imports.models import DuplicatePair
from insidesales.orgs.models import Membership

CATALOG = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


# --- the catalog as text ------------------------------------------------------------------------


def parse_po(text: str) -> list[dict]:
    """Entries of a .po file: keywords to their unquoted strings, plus the flags and the line number."""
    entries, entry, current = [], None, None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            entry, current = None, None
            continue
        if line.startswith("#~"):  # obsolete entries are not part of the catalog
            continue
        if entry is None:
            entry = {"flags": set(), "line": number}
            entries.append(entry)
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := KEYWORD.match(line):
            current = match.group(1)
            entry[current] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and current:
            entry[current] += ast.literal_eval(line)
    return [e for e in entries if "msgid" in e]


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return parse_po(CATALOG.read_text(encoding="utf-8"))


def label(entry: dict) -> str:
    context = f"[{entry['msgctxt']}] " if "msgctxt" in entry else ""
    return f"line {entry['line']}: {context}{entry['msgid']!r}"


def translations(entry: dict) -> list[str]:
    return [value for key, value in sorted(entry.items()) if key.startswith("msgstr")]


def test_there_is_one_catalog_for_the_whole_product():
    catalogs = sorted(p.relative_to(settings.BASE_DIR) for p in Path(settings.BASE_DIR).rglob("django.po"))
    assert catalogs == [CATALOG.relative_to(settings.BASE_DIR)]
    assert [Path(p) for p in settings.LOCALE_PATHS] == [CATALOG.parents[2]]


def test_every_entry_is_translated_and_none_is_fuzzy(entries):
    messages = [e for e in entries if e["msgid"]]
    assert len(messages) > 400
    fuzzy = [label(e) for e in messages if "fuzzy" in e["flags"]]
    untranslated = [label(e) for e in messages if not all(translations(e))]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"


def test_plurals_have_every_russian_form(entries):
    header = entries[0]["msgstr"]
    assert "nplurals=4;" in header  # the same formula as Django's own Russian catalog
    for entry in (e for e in entries if "msgid_plural" in e):
        forms = [entry.get(f"msgstr[{i}]") for i in range(4)]
        assert all(forms), label(entry)
        # one / few / many differ in Russian ("1 запись", "2 записи", "5 записей").
        assert len(set(forms[:3])) >= 2, label(entry)


def test_placeholders_survive_translation(entries):
    for entry in (e for e in entries if e["msgid"]):
        expected = set(PLACEHOLDER.findall(entry["msgid"] + entry.get("msgid_plural", "")))
        for text in translations(entry):
            assert set(PLACEHOLDER.findall(text)) == expected, label(entry)


def test_compiled_catalog_matches_the_source(entries):
    """The committed .mo holds exactly the .po's translations (run compilemessages after editing)."""
    with COMPILED.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # the parsed .mo: {msgid | (msgid, n): msgstr}
    expected: dict = {}
    for entry in entries:
        key = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            for index in range(4):
                expected[(key, index)] = entry[f"msgstr[{index}]"]
        else:
            expected[key] = entry["msgstr"]
    stale = sorted(str(k) for k in expected.keys() ^ compiled.keys() if k != "")
    assert not stale, f"the .mo is out of date; run compilemessages. Differences: {stale[:10]}"
    changed = sorted(str(k) for k in expected if k != "" and expected[k] != compiled[k])
    assert not changed, f"the .mo is out of date; run compilemessages. Differences: {changed[:10]}"


# --- what a Russian user sees -------------------------------------------------------------------


class VisibleText(HTMLParser):
    """Text a person reads on the page: text nodes plus titles, placeholders and labels for screen readers."""

    SKIP = {"script", "style", "code", "kbd"}
    ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        # Time zone choices are IANA names (Europe/Moscow): the same in every language.
        if tag in self.SKIP or (tag == "option" and "/" in (values.get("value") or "")):
            self.skipping.append(tag)
        self.parts.extend(value for name, value in attrs if name in self.ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


# Latin words allowed on a Russian page: the product's name, the language switch, and technical names.
ALLOWED = {"Inside", "Sales", "EN", "RU", "US", "API", "Ctrl", "Enter", "UTC", "USD", "RUB", "EUR", "Django"}
# Names of file formats and text encodings (the import page).
ALLOWED |= {"CSV", "XLSX", "UTF", "Windows", "Latin", "Excel"}
# The words the brief names, checked separately so a failure says plainly what leaked.
COMMON_ENGLISH = ("Leads", "Contacts", "Save", "Search", "Owner", "Status", "Created", "Name", "Email", "Phone")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
TIME_ZONE = re.compile(r"\b[A-Z][A-Za-z_]+/[A-Za-z_/]+")  # IANA names (Europe/Moscow) are the same in every language
LATIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z']*(?:-[A-Za-z]+)*")


def english_words(html: str, data: set[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = TIME_ZONE.sub(" ", EMAIL.sub(" ", text))
    for value in data:  # record names, domains and the like are the user's data, not our words
        text = text.replace(value, " ")
    return [word for word in LATIN_WORD.findall(text) if word not in ALLOWED]


@pytest.fixture
def russian_world(db):
    """An organization where an English-speaking admin did the work and a Russian-speaking rep reads it."""
    org = f.OrganizationFactory(name="Ромашка", slug="romashka", default_region="RU", default_currency="RUB")
    team = f.TeamFactory(organization=org, name="Москва")
    admin = f.AdminMembershipFactory(
        organization=org, user=f.UserFactory(email="boss@romashka.test", full_name="Анна Админова", language="en")
    )
    rep = f.InsideRepMembershipFactory(
        organization=org,
        team=team,
        user=f.UserFactory(
            email="rep@romashka.test", full_name="Иван Петров", language="ru", time_zone="Europe/Moscow"
        ),
    )
    lead = services.lead_create(
        membership=admin,
        data={"first_name": "Олег", "last_name": "Смирнов", "company_name": "Вектор", "phone": "+7 495 123-45-67"},
    )
    services.lead_assign(membership=admin, lead_id=lead.pk, owner_id=rep.user_id)
    services.lead_qualify(membership=admin, lead_id=lead.pk)
    services.note_add(membership=admin, record_type=type(lead), record_id=lead.pk, body="Перезвонить в среду")
    converted = services.lead_create(
        membership=admin, data={"first_name": "Мария", "last_name": "Кузнецова", "email": "maria@vector.test"}
    )
    services.lead_assign(membership=admin, lead_id=converted.pk, owner_id=rep.user_id)
    result = services.lead_convert(
        membership=admin, lead_id=converted.pk, deal_name="Поставка", deal_amount=Decimal("1234567.50")
    )
    deal = result["deal"]
    next_stage = Stage.objects.filter(pipeline=deal.pipeline, kind=StageKind.OPEN).exclude(pk=deal.stage_id).first()
    services.deal_move_stage(membership=admin, deal_id=deal.pk, stage_id=next_stage.pk)
    due = timezone.now() + dt.timedelta(hours=1)
    services.task_create(membership=rep, title="Позвонить Олегу", due_at=due, record_type=type(lead), record_id=lead.pk)
    services.lead_create(membership=rep, data={"first_name": "Пётр", "last_name": "Новиков", "company_name": "Луч"})
    # Possible duplicates (one pair left to review, one merged) for the duplicates pages and the timeline.
    from insidesales.imports import duplicates, merge

    twin = {"first_name": "Олег", "last_name": "Смирнов", "company_name": "Вектор", "phone": "+7 903 555-12-34"}
    services.lead_create(membership=rep, data=twin)
    services.lead_create(membership=rep, data={**twin, "last_name": "Смирнофф", "email": "oleg@vector.test"})
    kept = services.lead_create(membership=rep, data={"first_name": "Ия", "last_name": "Ким", "phone": "+79035550000"})
    gone = services.lead_create(membership=rep, data={"first_name": "Ия", "last_name": "Ким", "phone": "+79035550000"})
    merge.lead_merge(membership=rep, survivor_id=kept.pk, other_id=gone.pk)
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=org.pk).pk)
    data = {"Ромашка", "Москва", "Анна Админова", "Иван Петров", "vector.test"}
    return {
        "org": org,
        "admin": admin,
        "rep": rep,
        "lead": lead,
        "deal": deal,
        "contact": result["contact"],
        "merged_lead": kept,
        "data": data,
    }


def signed_in(membership: Membership) -> Client:
    """A fresh browser: no language cookie, so the language comes from the user's saved preference."""
    client = Client()
    client.force_login(membership.user)
    return client


def russian_pages(world) -> list[str]:
    lead, deal, contact = world["lead"], world["deal"], world["contact"]
    return [
        "/",
        "/leads/",
        f"/leads/{lead.pk}/",
        f"/leads/{lead.pk}/edit/",
        "/contacts/",
        f"/contacts/{contact.pk}/",
        "/companies/",
        "/deals/",
        f"/deals/{deal.pk}/",
        "/tasks/",
        "/search/?q=Смирнов",
        "/search/?q=nobody-matches-this",
        "/settings/",
        "/settings/api-keys/",
        "/imports/",
        "/duplicates/",
        f"/duplicates/{DuplicatePair.objects.filter(organization=world['org']).first().pk}/",
        f"/leads/{world['merged_lead'].pk}/",
    ]


@pytest.mark.django_db
def test_main_pages_show_no_english_to_a_russian_user(russian_world):
    client = signed_in(russian_world["rep"])
    leaks = {}
    for url in russian_pages(russian_world):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="ru">' in html, url
        words = english_words(html, russian_world["data"] | {"nobody-matches-this"})
        if words:
            leaks[url] = sorted(set(words))
    assert not leaks, f"English words on Russian pages: {leaks}"


@pytest.mark.django_db
def test_error_pages_are_russian(russian_world):
    response = signed_in(russian_world["rep"]).get("/leads/999999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Страница не найдена" in html and english_words(html, russian_world["data"]) == []


@pytest.mark.django_db
def test_sign_in_page_is_russian_for_a_russian_visitor(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    for url in ("/login/", "/password-reset/"):
        html = client.get(url).content.decode()
        assert english_words(html, set()) == [], url
        assert "Эл. почта" in html and "Адрес электронной почты" not in html, url


@pytest.mark.django_db
def test_common_ui_words_never_stay_english(russian_world):
    client = signed_in(russian_world["rep"])
    for url in russian_pages(russian_world):
        parser = VisibleText()
        parser.feed(client.get(url).content.decode())
        text = " ".join(parser.parts)
        for word in COMMON_ENGLISH:
            assert not re.search(rf"\b{word}\b", text), f"{word!r} on {url}"


@pytest.mark.django_db
def test_names_of_people_and_of_things_are_told_apart(russian_world):
    client = signed_in(russian_world["rep"])
    assert ">Имя<" in client.get("/leads/").content.decode()
    assert ">Название<" in client.get("/companies/").content.decode()
    assert ">Название<" in client.get("/deals/").content.decode()


@pytest.mark.django_db
def test_timeline_written_in_english_reads_in_russian(russian_world):
    """Services stored English subjects (the admin speaks English); the Russian reader sees Russian lines."""
    client = signed_in(russian_world["rep"])
    lead_page = client.get(f"/leads/{russian_world['lead'].pk}/").content.decode()
    assert "Статус: Новый → Квалифицирован" in lead_page
    assert "Назначено: Иван Петров" in lead_page
    assert "Источник: Другое" in lead_page
    assert "Перезвонить в среду" in lead_page  # people's words stay as written
    for english in ("Lead created", "new → qualified", "Unassigned"):
        assert english not in lead_page

    deal_page = client.get(f"/deals/{russian_world['deal'].pk}/").content.decode()
    assert "Создано из лида" in deal_page
    assert "Этап: Выявление потребностей → Демонстрация" in deal_page
    assert "Deal created from lead" not in deal_page

    contact_page = client.get(f"/contacts/{russian_world['contact'].pk}/").content.decode()
    assert "Создано из лида" in contact_page and "Converted from lead" not in contact_page


@pytest.mark.django_db
def test_the_same_timeline_reads_in_english_for_an_english_user(russian_world):
    client = signed_in(russian_world["admin"])
    page = client.get(f"/leads/{russian_world['lead'].pk}/").content.decode()
    assert "Status: New → Qualified" in page
    assert "Assigned to Иван Петров" in page


@pytest.mark.django_db
def test_dates_and_numbers_follow_the_russian_locale(russian_world):
    deal = Deal.objects.get(pk=russian_world["deal"].pk)
    page = signed_in(russian_world["rep"]).get(f"/deals/{deal.pk}/").content.decode()
    assert "1\xa0234\xa0567,50 RUB" in page  # Russian grouping and decimal comma
    created = timezone.localtime(deal.created_at, dt.timezone(dt.timedelta(hours=3)))  # Moscow, no DST
    assert created.strftime("%d.%m.%Y %H:%M") in page


@pytest.mark.django_db
def test_saved_language_applies_in_a_new_browser_and_the_switch_is_remembered(russian_world):
    rep = russian_world["rep"]
    assert '<html lang="ru">' in signed_in(rep).get("/").content.decode()

    response = signed_in(rep).post("/settings/language/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    rep.user.refresh_from_db()
    assert rep.user.language == "en"
    assert '<html lang="en">' in signed_in(rep).get("/").content.decode()  # another browser, no cookie
