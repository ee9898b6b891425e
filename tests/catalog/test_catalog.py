"""The shipped built-in tool catalog, and catalog files an admin writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from server.catalog import CatalogError, load_catalog


def test_the_shipped_catalog_has_the_promised_tools_with_real_schemas() -> None:
    catalog = load_catalog()
    names = {tool.name for tool in catalog}

    assert len(catalog) >= 8
    assert {"web-search", "calculator", "http-request", "current-time"} <= names
    for tool in catalog:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object"
        assert tool.input_schema["properties"], tool.name
        assert tool.category
        assert tool.description
        assert tool.type


def write(path: Path, entries: object) -> Path:
    path.write_text(json.dumps(entries))
    return path


def entry(**overrides: object) -> dict[str, object]:
    return {
        "name": "echo",
        "description": "Echo",
        "type": "utility",
        "category": "testing",
        "inputSchema": {"type": "object"},
        **overrides,
    }


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ([entry(name="no spaces")], "0.name"),
        ([entry(inputSchema={"type": "array"})], '"type" is "object"'),
        ([entry(inputSchema={"type": "object", "minProperties": -1})], "not a valid JSON Schema"),
        ([entry(), entry()], "repeat: echo"),
        ({"name": "echo"}, "valid list"),
    ],
)
def test_a_broken_catalog_file_is_refused_with_the_reason(
    tmp_path: Path, entries: object, problem: str
) -> None:
    with pytest.raises(CatalogError, match=problem):
        load_catalog(write(tmp_path / "catalog.json", entries))


def test_an_unreadable_catalog_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.json")
