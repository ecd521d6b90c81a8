"""The service's OpenAPI document is generated from RunConfig: the file in the package is
what the generator writes today, and it documents every option the engine accepts."""

from __future__ import annotations

import orjson
from policybench.service.api.schema import SPEC_PATH, document_with_generated_schema
from policybench.service.config import RunConfig
from policybench.service.option_meta import option_of


def test_openapi_document_is_generated_from_run_config() -> None:
    document = orjson.loads(SPEC_PATH.read_bytes())
    fresh = document_with_generated_schema(document)
    assert fresh == document, "run `python -m policybench.service.api.schema --write`"


def test_every_run_option_is_in_the_submission_schema() -> None:
    document = orjson.loads(SPEC_PATH.read_bytes())
    submission = document["components"]["schemas"]["Submission"]
    accepted = {n for n, f in RunConfig.model_fields.items() if option_of(f).api}
    assert accepted <= set(submission["properties"]), sorted(accepted - set(submission))
    assert {"backend", "sim"} - accepted == {"backend", "sim"}  # set by the service itself
    assert submission["required"] == ["dataset"]
    # constraints come from the fields: a changed bound shows up in the document
    assert submission["properties"]["max_attempts"]["maximum"] == 20
    assert submission["properties"]["rate"]["exclusiveMinimum"] is True
