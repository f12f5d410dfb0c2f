"""The API keeps its OpenAPI contract: Schemathesis generates requests for every operation
of the document (whatever apps add to it) and every answer must be documented and no
server error, with a token and without one.

Bounded and repeatable: a fixed number of examples per operation, derandomised.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
REQUESTS = {"count": 0}


def _schema():
    """The document as the API serves it, with requests sent to the application itself."""
    from trialnode.api import api
    from trialnode.wsgi import application

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = application
    loaded.location = "/api/v1/openapi.json"
    return loaded


schema = _schema()


@pytest.fixture
def world(make_study):
    make_study(title_sv="Publicerad studie")


@pytest.fixture
def coordinator_token(users) -> str:
    from trialnode.organisations.services import api_token_create

    return api_token_create(user=users.coordinator, name="contract test")[1]


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection():
    """The application is called directly, not through Django's test client, so the
    request signals would close the connection that holds the test's transaction."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module", autouse=True)
def _report_request_count():
    yield
    print(f"\nSchemathesis sent {REQUESTS['count']} requests.")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented_and_none_is_a_server_error(case, world, coordinator_token):
    for headers in ({"Authorization": f"Bearer {coordinator_token}"}, {}):
        response = case.call(headers=headers)
        REQUESTS["count"] += 1
        case.validate_response(response, checks=CHECKS)
        if response.status_code < 400:
            case.validate_response(response, checks=[response_schema_conformance])


def test_every_schema_of_the_document_has_a_name_of_its_own():
    """Two apps' schemas with one name share one entry of the document, so one of them
    is described by the other's fields."""
    from collections import Counter

    from ninja import Schema

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import trialnode.api  # noqa: F401  (loads every app's API)

    names = Counter(
        cls.__name__ for cls in subclasses(Schema) if cls.__module__.startswith("trialnode.")
    )
    assert [name for name, times in names.items() if times > 1] == []
