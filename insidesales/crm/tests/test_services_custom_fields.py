"""Custom fields: definitions (admins only) and typed, validated values on every record type."""

from __future__ import annotations

import pytest

from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import db_state
from insidesales.crm import services
from insidesales.crm.models import Company, Contact, CustomField, CustomFieldType, Deal, Lead
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db

BASE_DATA = {
    Lead: {"last_name": "Typed"},
    Contact: {"last_name": "Typed"},
    Company: {"name": "Typed"},
    Deal: {"name": "Typed"},
}
RECORD_TYPE = {Lead: "lead", Contact: "contact", Company: "company", Deal: "deal"}


def _create(membership, model, custom):
    data = {**BASE_DATA[model], "custom": custom}
    if model is Lead:
        return services.lead_create(membership=membership, data=data)
    return services.record_create(membership=membership, model=model, data=data)


def _update(membership, model, record_id, custom):
    if model is Lead:
        return services.lead_update(membership=membership, lead_id=record_id, data={"custom": custom})
    return services.record_update(membership=membership, model=model, record_id=record_id, data={"custom": custom})


@pytest.fixture
def typed_fields(world):
    def define(record_type: str) -> dict[str, CustomField]:
        return {
            kind: f.CustomFieldFactory(
                organization=world.org, record_type=record_type, key=f"my_{kind}", field_type=kind
            )
            for kind in CustomFieldType.values
        }

    return define


# (type, raw value, stored value)
GOOD = [
    (CustomFieldType.TEXT, "  free text ", "  free text "),
    (CustomFieldType.NUMBER, "42", 42),
    (CustomFieldType.NUMBER, "3,5", 3.5),
    (CustomFieldType.NUMBER, 7.25, 7.25),
    (CustomFieldType.DATE, "2026-03-01", "2026-03-01"),
    (CustomFieldType.CHOICE, "gold", "gold"),
    (CustomFieldType.BOOLEAN, "yes", True),
    (CustomFieldType.BOOLEAN, "нет", False),
    (CustomFieldType.BOOLEAN, True, True),
    (CustomFieldType.NUMBER, "", None),
]
BAD = [
    (CustomFieldType.NUMBER, "forty-two"),
    (CustomFieldType.NUMBER, "NaN"),
    (CustomFieldType.NUMBER, "Infinity"),
    (CustomFieldType.NUMBER, True),
    (CustomFieldType.DATE, "31/12/2026"),
    (CustomFieldType.DATE, "2026-02-30"),
    (CustomFieldType.CHOICE, "platinum"),
    (CustomFieldType.CHOICE, "Gold"),
    (CustomFieldType.BOOLEAN, "maybe"),
]


@pytest.mark.parametrize("model", BASE_DATA, ids=lambda m: m.__name__)
@pytest.mark.parametrize(("kind", "raw", "stored"), GOOD)
def test_good_values_are_stored_typed(world, typed_fields, model, kind, raw, stored):
    typed_fields(RECORD_TYPE[model])
    record = _create(world.rep1, model, {f"my_{kind}": raw})
    record.refresh_from_db()
    assert record.custom[f"my_{kind}"] == stored


@pytest.mark.parametrize("model", BASE_DATA, ids=lambda m: m.__name__)
@pytest.mark.parametrize(("kind", "raw"), BAD)
def test_bad_values_are_refused_under_custom_key_on_create_and_update(world, typed_fields, model, kind, raw):
    typed_fields(RECORD_TYPE[model])
    existing = _create(world.rep1, model, {})
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        _create(world.rep1, model, {f"my_{kind}": raw})
    assert list(exc.value.fields) == [f"custom.my_{kind}"]
    with pytest.raises(ValidationError) as exc:
        _update(world.rep1, model, existing.pk, {f"my_{kind}": raw})
    assert list(exc.value.fields) == [f"custom.my_{kind}"]
    assert db_state() == before


@pytest.mark.parametrize("model", BASE_DATA, ids=lambda m: m.__name__)
def test_unknown_and_other_record_types_keys_are_refused(world, typed_fields, model):
    other = next(t for t in RECORD_TYPE.values() if t != RECORD_TYPE[model])
    f.CustomFieldFactory(organization=world.org, record_type=other, key="elsewhere")
    f.CustomFieldFactory(organization=world.org_b, record_type=RECORD_TYPE[model], key="other_org")
    for key in ("nope", "elsewhere", "other_org"):
        with pytest.raises(ValidationError) as exc:
            _create(world.rep1, model, {key: "x"})
        assert f"custom.{key}" in exc.value.fields


@pytest.mark.parametrize("model", BASE_DATA, ids=lambda m: m.__name__)
def test_required_fields_are_enforced_on_create_and_when_cleared(world, model):
    f.CustomFieldFactory(organization=world.org, record_type=RECORD_TYPE[model], key="budget", required=True)
    with pytest.raises(ValidationError) as exc:
        _create(world.rep1, model, {})
    assert "custom.budget" in exc.value.fields
    record = _create(world.rep1, model, {"budget": "big"})
    assert record.custom == {"budget": "big"}
    with pytest.raises(ValidationError) as exc:
        _update(world.rep1, model, record.pk, {"budget": ""})
    assert "custom.budget" in exc.value.fields
    record.refresh_from_db()
    assert record.custom == {"budget": "big"}


def test_update_merges_custom_values_and_audits_them(world, typed_fields):
    typed_fields("lead")
    lead = _create(world.rep1, Lead, {"my_text": "a", "my_number": "1"})
    _update(world.rep1, Lead, lead.pk, {"my_number": "2"})
    lead.refresh_from_db()
    assert lead.custom == {"my_text": "a", "my_number": 2}
    audit = AuditLog.objects.get(action="lead.update", object_id=lead.pk)
    assert "custom" in audit.changes


def test_only_admins_define_fields(world):
    before = db_state()
    for member in ("manager", "rep1", "agency_x_rep"):
        with pytest.raises(PermissionDenied):
            services.custom_field_create(
                membership=world.members[member], record_type="lead", label="Budget", field_type="number"
            )
    assert db_state() == before


def test_field_definition_rules(world):
    field = services.custom_field_create(
        membership=world.admin, record_type="deal", label="Contract Size", field_type="number"
    )
    assert (field.key, field.organization) == ("contract_size", world.org)
    assert AuditLog.objects.filter(action="custom_field.create", object_id=field.pk).exists()
    cases = [
        ({"record_type": "deal", "label": "Contract size", "field_type": "number"}, "key"),
        ({"record_type": "robot", "label": "X", "field_type": "text"}, "record_type"),
        ({"record_type": "lead", "label": "X", "field_type": "colour"}, "field_type"),
        ({"record_type": "lead", "label": "Tier", "field_type": "choice", "choices": [" ", ""]}, "choices"),
        ({"record_type": "lead", "label": "Бюджет", "field_type": "text"}, "label"),
    ]
    for kwargs, error in cases:
        with pytest.raises(ValidationError) as exc:
            services.custom_field_create(membership=world.admin, **kwargs)
        assert error in exc.value.fields
    # The same key is fine in another organization or for another record type.
    services.custom_field_create(membership=world.admin_b, record_type="deal", label="Contract size", field_type="text")
    services.custom_field_create(membership=world.admin, record_type="lead", label="Contract size", field_type="text")
    cyrillic = services.custom_field_create(
        membership=world.admin, record_type="lead", label="Бюджет", key="budget", field_type="text"
    )
    assert (cyrillic.key, cyrillic.label) == ("budget", "Бюджет")
