"""The service's OpenAPI spec documents every run option the engine accepts."""

from __future__ import annotations

import json

from policybench.service.config import RunConfig
from policybench.service.resources import shipped


def test_every_run_option_is_in_the_submission_schema() -> None:
    spec_path = shipped("policies").parent / "service" / "api" / "openapi.json"
    spec = json.loads(spec_path.read_text())
    documented = set(spec["components"]["schemas"]["Submission"]["properties"])
    accepted = set(RunConfig.model_fields) - {"backend", "sim"}  # set by the service itself
    assert accepted <= documented, sorted(accepted - documented)
