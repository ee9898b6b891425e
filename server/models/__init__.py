"""Pydantic models: the single description of each stored item and each input's rules."""

from server.models.base import is_key, new_id, now_iso, parse_input
from server.models.builtin_tool import BuiltinTool, BuiltinToolSpec
from server.models.project import NewProject, Project, ProjectPatch

__all__ = [
    "BuiltinTool",
    "BuiltinToolSpec",
    "NewProject",
    "Project",
    "ProjectPatch",
    "is_key",
    "new_id",
    "now_iso",
    "parse_input",
]
