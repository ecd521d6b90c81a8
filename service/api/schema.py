"""The OpenAPI schema of a submission, generated from :class:`RunConfig`'s fields.

``openapi.json`` (served at ``/openapi.json``) holds the generated ``Submission``
component; a test fails when a field was added or changed without regenerating it:

    python -m policybench.service.api.schema --write

pydantic writes JSON Schema 2020-12; the document is OpenAPI 3.0, so the few places
they differ (``nullable``, boolean ``exclusiveMinimum``, ``const``) are translated here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from ..config import RunConfig
from ..option_meta import option_of
from .submissions import SIM_KEYS

SPEC_PATH = Path(__file__).with_name("openapi.json")

#: What a submission means by these keys, beyond the option's own help.
_SERVICE_DESCRIPTIONS = {
    "dataset": "A shipped dataset name (balanced) or a path under a dataset root.",
    "policies": "minimal|medium|verbose, or a folder under a policy root (DIR or DIR@verbosity).",
    "chat_template": "harmony, generic, or a template file under a policy root (completions route).",
    "base_url": "OpenAI-compatible base URL; on a service with --upstream, one of its upstream "
    "servers (default: the first).",
}


def _sim_setting(kind: type, low: float | None, high: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer" if kind is int else "number"}
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    return out


_SIM_SETTINGS = {name: _sim_setting(kind, low, high) for name, kind, low, high in SIM_KEYS.values()}
#: The simulator keys a submission accepts (see submissions.py): ``sim`` is true or an
#: object of settings, which may also be given as top-level ``sim_*`` keys.
_SIM_PROPERTIES: dict[str, Any] = {
    "sim": {
        "oneOf": [
            {"type": "boolean"},
            {"type": "object", "additionalProperties": False, "properties": _SIM_SETTINGS},
        ],
        "description": "Run against a simulated server started by the service for this run "
        "(true, or an object of its settings).",
    },
    **{key: _SIM_SETTINGS[spec[0]] for key, spec in SIM_KEYS.items()},
}


def _openapi30(node: Any) -> Any:
    """JSON Schema 2020-12 (pydantic) -> the OpenAPI 3.0 dialect."""
    if isinstance(node, list):
        return [_openapi30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi30(v) for k, v in node.items() if k != "title"}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("exclusiveMinimum"), int | float) and not isinstance(
        out["exclusiveMinimum"], bool
    ):
        out["minimum"] = out.pop("exclusiveMinimum")
        out["exclusiveMinimum"] = True
    if "anyOf" in out:
        options = out.pop("anyOf")
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) < len(options):
            out["nullable"] = True
        if len(rest) == 1:
            out = {**rest[0], **out}
        else:
            out["oneOf"] = rest
    if out.get("nullable") and "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]  # OpenAPI 3.0: nullable does not extend an enum
    return out


def submission_schema() -> dict[str, Any]:
    """The ``Submission`` component: every submission key of :class:`RunConfig`, and sim."""
    generated = RunConfig.model_json_schema()["properties"]
    properties: dict[str, Any] = {}
    for name, field in RunConfig.model_fields.items():
        if not option_of(field).api:
            continue
        prop = _openapi30(generated[name])
        if name in _SERVICE_DESCRIPTIONS:
            prop["description"] = _SERVICE_DESCRIPTIONS[name]
        properties[name] = prop
    properties.update(_SIM_PROPERTIES)
    required = [n for n, f in RunConfig.model_fields.items() if f.is_required()]
    return {
        "type": "object",
        "description": "A run, with `bench run`'s option names as keys (`-` and `_` are the "
        "same). Paths must lie under the service's --dataset-root / --policy-root.",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
        "example": {
            "dataset": "balanced",
            "strategy": "multi",
            "sim": True,
            "sim_time_scale": 0,
            "limit": 5,
            "concurrency": 4,
        },
    }


def document_with_generated_schema(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its ``Submission`` component replaced by the generated one."""
    components = {**document["components"]}
    components["schemas"] = {**components["schemas"], "Submission": submission_schema()}
    return {**document, "components": components}


def main(argv: list[str]) -> int:
    document = orjson.loads(SPEC_PATH.read_bytes())
    fresh = document_with_generated_schema(document)
    if "--write" in argv:
        SPEC_PATH.write_bytes(orjson.dumps(fresh, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    if fresh != document:
        sys.stderr.write(f"{SPEC_PATH}: out of date; run with --write\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
