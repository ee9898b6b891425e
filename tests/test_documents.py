"""The shared documents of `tests/documents.py` are valid against the schema the server serves,
so a schema change that breaks one fails here, not in a benchmark that sends it."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from server.schema import schema
from tests import documents

# The `*_FIELDS` are selections, checked inside the documents that hold them.
SHARED = sorted(name for name in documents.__all__ if not name.endswith("_FIELDS"))


@pytest.mark.parametrize("name", SHARED)
def test_each_shared_document_validates_against_the_schema(name: str) -> None:
    errors = validate(schema._schema, parse(getattr(documents, name)))

    assert errors == []
