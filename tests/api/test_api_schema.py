"""Property-based test generated from the OpenAPI schema (schemathesis): no request makes the server answer 5xx.

Schemathesis draws valid and invalid paths, forms and JSON bodies for every operation from ``/openapi.json``, so
the schema and the error handling are tested together. A bounded number of examples per operation keeps it short.
(Schemathesis' pytest plugin does not load under this pytest, so its strategies drive Hypothesis directly.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from api_support import KEY, LIMITS, RUN_ID
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from hamacho_core.api import create_app

EXAMPLES = 12  # per operation and mode


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_makes_a_server_error(workspace: Path, mode: GenerationMode) -> None:
    # A private copy of the workspace: the generated requests delete runs, pictures and results.
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(workspace, KEY, LIMITS, accelerator="cpu"))
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tried.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            if "run_id" in (case.path_parameters or {}) and len(case.path_parameters["run_id"]) % 2:
                case.path_parameters["run_id"] = RUN_ID  # also reach the model, not only "unknown run"
            for headers in ({"Authorization": f"Bearer {KEY}"}, {}):
                response = case.call(headers=headers)
                assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
                if response.status_code >= 400:
                    assert set(response.json()) == {"error"}, response.text

        try:
            no_server_error()
        except Unsatisfiable:  # nothing to make invalid (GET /health, GET /v1/runs)
            assert mode == GenerationMode.NEGATIVE
            tried.pop()
    assert "POST /v1/runs/{run_id}/predict" in tried and len(tried) >= 5
    assert {"GET /v1/results", "GET /v1/monitor", "POST /v1/predict", "DELETE /v1/runs/{run_id}"} <= set(tried)
