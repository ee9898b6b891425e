"""`InputSchema`: a tool's input described as a JSON Schema (draft 2020-12) object."""

from __future__ import annotations

import json
from typing import Annotated, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import AfterValidator

from server.models.stored_json import MAX_DYNAMODB_LEVELS, check_storable

__all__ = ["MAX_SCHEMA_BYTES", "MAX_SCHEMA_LEVELS", "InputSchema"]

MAX_SCHEMA_BYTES = 64 * 1024
# A deployment snapshot keeps each tool's schema three levels down in its `config` attribute
# (`config` map → `tools` list → the tool's map → `inputSchema`; see `Snapshot` in
# server/models/snapshot.py), so the schema itself may nest 31 - 3 = 28 levels.
MAX_SCHEMA_LEVELS = MAX_DYNAMODB_LEVELS - 3


def _check_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # First, and without recursion: what jsonschema and `json.dumps` below would recurse into.
    check_storable(schema, max_levels=MAX_SCHEMA_LEVELS, where="in a deployment snapshot")
    if schema.get("type") != "object":
        raise ValueError('must be a JSON Schema whose "type" is "object"')
    if len(json.dumps(schema, separators=(",", ":"))) > MAX_SCHEMA_BYTES:
        raise ValueError(f"must be at most {MAX_SCHEMA_BYTES} bytes as JSON")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(part) for part in error.path) or "the root"
        raise ValueError(
            f"is not a valid JSON Schema (draft 2020-12) at {where}: {error.message}"
        ) from None
    return schema


InputSchema = Annotated[dict[str, Any], AfterValidator(_check_input_schema)]
