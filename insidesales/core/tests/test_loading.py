"""FastLoading builds from database rows exactly the instances Django's own `Model.__init__` builds."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.models.signals import post_init, pre_init

from insidesales.core.loading import FastLoading
from insidesales.crm.models import Contact, Lead

pytestmark = pytest.mark.django_db


def fast_models() -> list[type]:
    return [m for m in apps.get_models() if issubclass(m, FastLoading)]


def snapshot(instance) -> dict:
    """Every attribute of an instance, with its state's flags in place of the state object."""
    values = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    values["_state"] = (instance._state.adding, instance._state.db, dict(instance._state.fields_cache))
    return values


def django_built(queryset) -> list:
    """The same rows loaded through Model.__init__ (a pre_init receiver sends FastLoading that way)."""

    def receiver(**kwargs):
        pass

    for model in fast_models():
        pre_init.connect(receiver, sender=model)
    try:
        return list(queryset.all())
    finally:
        for model in fast_models():
            pre_init.disconnect(receiver, sender=model)


def test_the_domain_models_load_fast():
    names = {m._meta.label for m in fast_models()}
    assert {"crm.Lead", "crm.Contact", "crm.Company", "crm.Deal", "crm.Activity", "orgs.User"} <= names
    assert {"orgs.Membership", "orgs.Organization", "orgs.Team", "orgs.Agency", "crm.Tag"} <= names


def test_every_row_of_every_model_equals_djangos_instance(world):
    loaded = set()
    for model in fast_models():
        queryset = model._default_manager.order_by("pk")
        fast = list(queryset.all())
        slow = django_built(queryset)
        assert [snapshot(a) for a in fast] == [snapshot(b) for b in slow], model
        assert all(type(a) is model and not a._state.adding and a._state.db == "default" for a in fast)
        if fast:
            loaded.add(model._meta.label)
    # The world has rows of every kind the pages read.
    assert {"crm.Lead", "crm.Company", "crm.Deal", "crm.Task", "orgs.User", "orgs.Membership", "orgs.Agency"} <= loaded


def test_select_related_rows_are_equal_and_linked(world):
    queryset = Contact.objects.select_related("owner", "company", "organization").order_by("pk")
    fast, slow = list(queryset.all()), django_built(queryset)
    assert len(fast) == len(slow) > 5
    for a, b in zip(fast, slow, strict=True):
        assert snapshot(a) == snapshot(b)
        if a.owner_id:
            assert snapshot(a.owner) == snapshot(b.owner)
            assert a.owner.pk == a.owner_id
        if a.company_id:
            assert snapshot(a.company) == snapshot(b.company)
        assert snapshot(a.organization) == snapshot(b.organization)


def test_loaded_instances_save_and_refresh_like_any_other(world):
    lead = Lead.objects.get(pk=world.lead_rep1.pk)
    lead.first_name = "Changed"
    lead.save(update_fields=["first_name"])
    assert Lead.objects.get(pk=lead.pk).first_name == "Changed"
    lead.refresh_from_db()
    assert lead.first_name == "Changed"
    assert lead.owner == world.rep1.user  # related access works on a fast-built instance


def test_partial_rows_and_signal_receivers_take_djangos_path(world):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=Lead)
    try:
        leads = list(Lead.objects.order_by("pk")[:3])
    finally:
        post_init.disconnect(receiver, sender=Lead)
    assert seen == [lead.pk for lead in leads]

    partial = Lead.objects.only("id", "first_name").get(pk=world.lead_rep1.pk)
    assert partial.get_deferred_fields() >= {"email", "phone"}
    assert partial.email == world.lead_rep1.email  # loaded on access, as Django does
