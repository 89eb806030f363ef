"""API keys: the secret is shown once and only its hash is stored; revoked keys and inactive users fail."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from insidesales.core.errors import ValidationError
from insidesales.orgs.models import ApiKey, AuditLog
from insidesales.orgs.selectors import api_key_list
from insidesales.orgs.services import API_KEY_PREFIX, api_key_authenticate, api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def test_create_returns_the_secret_once_and_stores_only_its_hash(world):
    key, secret = api_key_create(membership=world.rep1, name=" CI pipeline ")
    assert secret.startswith(API_KEY_PREFIX + key.prefix + "_")
    assert len(secret) > 40
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.name == "CI pipeline"
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    # The secret appears nowhere in the database row.
    assert secret not in repr(ApiKey.objects.filter(pk=key.pk).values().get())
    assert secret not in str(AuditLog.objects.filter(action="api_key.create").values().get())
    assert (stored.user, stored.organization_id) == (world.rep1.user, world.org.pk)


def test_each_key_is_different(world):
    secrets = {api_key_create(membership=world.rep1, name=f"k{i}")[1] for i in range(5)}
    assert len(secrets) == 5


def test_a_key_needs_a_name(world):
    with pytest.raises(ValidationError) as exc:
        api_key_create(membership=world.rep1, name="   ")
    assert "name" in exc.value.fields
    assert not ApiKey.objects.exists()


def test_authenticate_finds_the_live_key_and_records_use(world):
    key, secret = api_key_create(membership=world.rep1, name="CI")
    found = api_key_authenticate(secret)
    assert found == key and found.user == world.rep1.user
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(world, django_assert_num_queries):
    key, secret = api_key_create(membership=world.rep1, name="CI")
    api_key_authenticate(secret)
    with django_assert_num_queries(1):  # the lookup only, no update
        api_key_authenticate(secret)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=5))
    api_key_authenticate(secret)
    assert timezone.now() - ApiKey.objects.get(pk=key.pk).last_used_at < dt.timedelta(seconds=5)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # right prefix, wrong secret
        lambda s: s.removeprefix(API_KEY_PREFIX),
        lambda s: "",
        lambda s: API_KEY_PREFIX,
        lambda s: API_KEY_PREFIX + "_",
        lambda s: "Bearer " + s,
        lambda s: s + "x",
        lambda s: API_KEY_PREFIX + "000000000000_" + s.split("_", 2)[2],  # someone else's prefix
    ],
)
def test_wrong_secrets_do_not_authenticate(world, mangle):
    _, secret = api_key_create(membership=world.rep1, name="CI")
    assert api_key_authenticate(mangle(secret)) is None


def test_revoked_key_no_longer_authenticates(world):
    key, secret = api_key_create(membership=world.rep1, name="CI")
    revoked = api_key_revoke(membership=world.rep1, key_id=key.pk)
    assert revoked.revoked_at is not None
    assert api_key_authenticate(secret) is None
    assert AuditLog.objects.filter(action="api_key.revoke", object_id=key.pk).count() == 1
    # Revoking again changes nothing and writes no second row.
    api_key_revoke(membership=world.rep1, key_id=key.pk)
    assert AuditLog.objects.filter(action="api_key.revoke", object_id=key.pk).count() == 1


def test_key_of_an_inactive_user_does_not_authenticate(world):
    _, secret = api_key_create(membership=world.rep1, name="CI")
    world.rep1.user.is_active = False
    world.rep1.user.save()
    assert api_key_authenticate(secret) is None


def test_keys_are_listed_only_to_their_owner(world):
    mine, _ = api_key_create(membership=world.rep1, name="mine")
    api_key_create(membership=world.rep2, name="theirs")
    assert list(api_key_list(membership=world.rep1)) == [mine]
    assert list(api_key_list(membership=world.admin)) == []


def test_the_kept_key_query_finds_what_the_orm_finds(world):
    """`api_key_authenticate` runs SQL compiled once; it must find the live key the queryset finds."""
    old, old_secret = api_key_create(membership=world.rep1, name="old")
    api_key_revoke(membership=world.rep1, key_id=old.pk)
    key, secret = api_key_create(membership=world.rep1, name="new")
    other, other_secret = api_key_create(membership=world.admin_b, name="b")
    for wanted, given in ((key, secret), (other, other_secret)):
        found = api_key_authenticate(given)
        expected = ApiKey.objects.select_related("user").filter(prefix=wanted.prefix, revoked_at__isnull=True).first()
        assert found == expected and found.user == expected.user and found.user.email == expected.user.email
    assert api_key_authenticate(old_secret) is None
    assert api_key_authenticate(secret[:-1] + ("x" if secret[-1] != "x" else "y")) is None
    assert api_key_authenticate(API_KEY_PREFIX + "sentinel-prefix-7301915446_zzz") is None


@pytest.mark.parametrize(
    "member", ["admin", "manager", "rep1", "field_rep", "agency_x_rep", "agency_off_rep", "admin_b"]
)
def test_memberships_read_with_the_key_user_are_the_ones_queried(world, member):
    """The API answers for the membership `active_membership` finds, preloaded or queried."""
    from insidesales.orgs.auth import active_membership, with_memberships
    from insidesales.orgs.models import User

    membership = world.members[member]
    for organization_id in (membership.organization_id, world.org.pk, world.org_b.pk, None):
        queried = active_membership(User.objects.get(pk=membership.user_id), organization_id)
        loaded = active_membership(with_memberships(User.objects.get(pk=membership.user_id)), organization_id)
        assert loaded == queried
        if loaded is not None:
            assert (loaded.organization, loaded.team, loaded.agency) == (
                queried.organization,
                queried.team,
                queried.agency,
            )
            assert loaded.user.pk == membership.user_id
