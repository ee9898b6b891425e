"""The seed's config maps are described once, by the models: no code outside `server/models/`
reads or builds one by its string keys."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"
MODELS = SERVER / "models"
# The keys of the seed's Agent, Tool and Main Agent Config JSON Structures (and their `model`
# map), and of the snapshot that holds them.
SEED_KEYS = frozenset(
    {
        "name",
        "description",
        "type",
        "system_prompt",
        "tools",
        "builtin_tools",
        "model",
        "region",
        "model_id",
        "inputSchema",
        "code",
        "project",
        "mainConfig",
        "agents",
        "env",
        "id",
        "key",
        "value",
        "secret",
    }
)
# Keys no other map of the server has: a dict written with one is a config built by hand.
ONLY_IN_CONFIGS = frozenset({"system_prompt", "builtin_tools", "model_id", "inputSchema"})
# What a config or a snapshot is called where it is read (`config`, `agent.config`,
# `snapshot`, `tool`, `main.config`, `variable`, ...); ASGI scopes, GraphQL errors and the
# like are called otherwise, and their "type" or "code" is no config's.
CONFIG_LIKE = ("config", "snapshot", "agent", "tool", "model", "main", "variable")


def _key(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _seed_key_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            receiver, key = node.value, _key(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr != "get" or not node.args:
                continue
            receiver, key = node.func.value, _key(node.args[0])
        elif isinstance(node, ast.Dict):
            keys = {_key(k) for k in node.keys}
            for built in sorted(k for k in keys & ONLY_IN_CONFIGS if k is not None):
                yield node.lineno, f"a dict built with {built!r}"
            continue
        else:
            continue
        named = ast.unparse(receiver).lower()
        if key in SEED_KEYS and any(word in named for word in CONFIG_LIKE):
            yield node.lineno, f"{ast.unparse(node)}"


def seed_key_reads(root: Path) -> list[str]:
    """Where code under `root`, outside `server/models/`, reads a seed config by string key."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(MODELS):
            continue
        for line, what in sorted(_seed_key_reads(ast.parse(path.read_text("utf-8")))):
            found.append(f"{path.relative_to(root.parent)}:{line}: {what}")
    return found


def test_no_code_outside_the_models_reads_a_seed_config_by_its_string_keys() -> None:
    assert seed_key_reads(SERVER) == []


def test_the_check_finds_the_reads_it_is_meant_to_forbid(tmp_path: Path) -> None:
    server = tmp_path / "server"
    server.mkdir()
    (server / "reads.py").write_text(
        "def f(agent, snapshot, tool, scope, error):\n"
        "    agent.config['name']\n"
        "    snapshot.get('agents')\n"
        "    tool.get('inputSchema') or {}\n"
        "    built = {'name': 'a', 'system_prompt': 'p'}\n"
        "    scope['type']\n"
        "    error.extensions['code']\n",
        "utf-8",
    )

    assert seed_key_reads(server) == [
        "server/reads.py:2: agent.config['name']",
        "server/reads.py:3: snapshot.get('agents')",
        "server/reads.py:4: tool.get('inputSchema')",
        "server/reads.py:5: a dict built with 'system_prompt'",
    ]
