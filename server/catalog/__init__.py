"""The built-in tool catalog shipped with the server, and the reader for catalog files."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from server.models import BuiltinToolSpec

__all__ = ["CatalogError", "load_catalog"]

_CATALOG = TypeAdapter(list[BuiltinToolSpec])


class CatalogError(Exception):
    """A catalog file is missing, not JSON, or has an entry that breaks a rule."""


def load_catalog(path: Path | None = None) -> list[BuiltinToolSpec]:
    """Read a catalog file (a JSON array of tools); the shipped one when `path` is None."""
    try:
        if path is None:
            text = resources.files(__package__).joinpath("builtin_tools.json").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        entries = _CATALOG.validate_python(json.loads(text))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogError(f"cannot read the catalog {path or 'shipped'}: {error}") from None
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CatalogError(f"catalog entry {where}: {first['msg']}") from None
    names = [entry.name for entry in entries]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise CatalogError(f"catalog names repeat: {', '.join(duplicates)}")
    return entries
