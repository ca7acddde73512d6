"""schemathesis against our own OpenAPI schema: every endpoint and method, as a CS Admin with an
ingest-scoped token. No 5xx, and every response conforms to the schema. Every phase: the schema's
examples, coverage (boundary and invalid values), fuzzing, and a stateful run following the links
between operations (create → read → update → delete)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from people import roles
from people.models import ApiToken
from people.services import api_token_create
from tests.factories import AccountFactory, UserFactory


@pytest.fixture
def api_schema(live_server, transactional_db):
    admin = UserFactory(username="fuzz-admin", is_staff=True, roles=[roles.ADMIN])
    AccountFactory(external_id="A1")
    _, key = api_token_create(user=admin, name="fuzz", scope=ApiToken.SCOPE_INGEST)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/", headers={"Authorization": f"Bearer {key}"})
    schema.config.update(base_url=live_server.url, headers={"Authorization": f"Bearer {key}"})
    return schema


# Derandomized: CI runs the same examples every time (a new failure shows up with a code change,
# not by chance); run locally without it to explore further.
schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ_EXAMPLES = 30  # 2× the old 15; with the stateful run ~6 min on a busy 2-core machine at 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Whether a valid-looking request is accepted depends on the data (a name already taken, an
# unknown account…): those 400s are correct, so these two checks are left out.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]


@pytest.mark.fuzz
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_api_conforms_to_its_schema(case):
    # What the issue asks of every response: no server error, and status code, content type and
    # body all as documented. (Whether a valid-looking request is accepted depends on the data:
    # a name already taken, an unknown account… — those 400s are correct.)
    case.call_and_validate(checks=CHECKS, excluded_checks=EXCLUDED)


@pytest.mark.fuzz
def test_api_workflows_conform_to_the_schema(api_schema):
    """Stateful: sequences of calls along the schema's links, with the same checks."""

    class Workflow(api_schema.as_state_machine()):
        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, excluded_checks=EXCLUDED, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=30,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
    )
