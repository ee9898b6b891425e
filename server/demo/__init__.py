"""The demo project `seed-demo` imports: a bundle shipped with the package (`project.json`)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["demo_bundle"]


def demo_bundle() -> dict[str, Any]:
    """The shipped demo bundle (its secret carries a placeholder value, so nothing needs one)."""
    text = files(__package__).joinpath("project.json").read_text(encoding="utf-8")
    bundle: dict[str, Any] = json.loads(text)
    return bundle
