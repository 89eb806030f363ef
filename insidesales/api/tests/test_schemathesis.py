"""Property-based run over every operation of the OpenAPI document: no 5xx, and every answer conforms.

schemathesis reads /api/v1/openapi.json from the Django WSGI application itself and sends generated requests
(valid and invalid) with an administrator's API key, in the test database of a small world. Bounded to a
few examples per operation so the suite stays quick.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from insidesales.core.testing.world import build_world
from insidesales.orgs.services import api_key_create

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def schemathesis_connection(db):
    """Keep the test's database connection across requests, as Django's test client does.

    The raw WSGI application closes "old" connections when a request ends; on PostgreSQL that would close
    the connection holding the test transaction.
    """
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def schemathesis_key(schemathesis_connection) -> str:
    """An administrator's key in a world with records of every kind, so ids often hit something."""
    world = build_world()
    return api_key_create(membership=world.admin, name="schemathesis")[1]


def _load_schema():
    # Read from the running application, as a client would; serving the document touches no database.
    from django.core.wsgi import get_wsgi_application

    # The coverage phase sends ~200 boundary cases per operation; the bounded fuzzing phase keeps this quick.
    config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=config)


schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same examples every run: a red build is a real regression, never bad luck
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_conform_and_never_fail(case, schemathesis_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {schemathesis_key}"}, checks=CHECKS)
