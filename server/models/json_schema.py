"""`InputSchema`: a tool's input described as a JSON Schema (draft 2020-12) object."""

from __future__ import annotations

import json
from typing import Annotated, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import AfterValidator

__all__ = ["MAX_SCHEMA_BYTES", "InputSchema"]

MAX_SCHEMA_BYTES = 64 * 1024


def _check_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
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
