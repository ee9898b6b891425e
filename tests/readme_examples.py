"""The README's examples as a test runs them: its ```graphql blocks, and the curl commands of its
```sh blocks that call the local server, in the order a reader meets them.

A block runs as written. What it needs from the blocks before it is said in HTML comments
right above its fence (GitHub shows none of them), one directive each:

- `<!-- example: variables {"id": "from createProject.id", "userId": "dev-user"} -->`: a
  value `from FIELD.PATH` is read from the newest answer (of the blocks above, or of the
  operations above in the same block) holding that root field (an alias counts), down the
  dotted path (list indexes as numbers); any other value is taken as it is;
- `<!-- example: headers {"X-Dev-Groups": "admin"} -->`: request headers (on a WebSocket,
  the `connection_init` payload);
- `<!-- example: expect CONFLICT -->`: the block shows an error: every operation of it must
  answer one with that `extensions.code`;
- `<!-- example: server DEPLOYER=none -->`: run it on a server started with these settings
  (each set of settings has a server of its own, and its own answers) instead of the defaults.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LOCAL_SERVER",
    "CurlExample",
    "Example",
    "GraphQLExample",
    "ReadmeError",
    "examples",
    "resolve",
]

LOCAL_SERVER = "http://127.0.0.1:8000"
_FROM = "from "

_DIRECTIVE = re.compile(r"^<!--\s*example:\s*(?P<name>\w+)\s*(?P<value>.*?)\s*-->$")
_FENCE = re.compile(r"^```(?P<language>\w*)\s*$")


class ReadmeError(Exception):
    """A directive the README gets wrong: unknown, malformed or above no block."""


@dataclass(frozen=True)
class Example:
    line: int  # of the fence, 1-based
    variables: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    expect: str | None = None
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GraphQLExample(Example):
    document: str = ""


@dataclass(frozen=True)
class CurlExample(Example):
    method: str = "GET"
    path: str = "/"
    body: str | None = None
    curl_headers: dict[str, str] = field(default_factory=dict)


def examples(readme: Path) -> list[Example]:
    """Every runnable example of `readme`, in order, with the directives above it."""
    found: list[Example] = []
    directives: dict[str, Any] = {}
    directive_line = 0
    lines = readme.read_text().splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if directive := _DIRECTIVE.match(line):
            directives.update(_directive(directive["name"], directive["value"], index + 1))
            directive_line = directive_line or index + 1
        elif fence := _FENCE.match(line):
            end = _closing_fence(lines, index)
            body = "\n".join(lines[index + 1 : end])
            found.extend(_block(fence["language"], body, index + 1, directives))
            if directives and fence["language"] != "graphql" and not _curls(body):
                raise ReadmeError(
                    f"line {directive_line}: directives above a block with no example"
                )
            directives, directive_line, index = {}, 0, end
        elif line and directives:
            raise ReadmeError(f"line {directive_line}: directives must sit right above a block")
        index += 1
    return found


def resolve(example: Example, wanted: list[str], answers: dict[str, Any]) -> dict[str, Any]:
    """The variables `wanted` by an operation of `example`, read from earlier `answers`."""
    values: dict[str, Any] = {}
    for name in wanted:
        if name not in example.variables:
            raise ReadmeError(f"line {example.line}: ${name} has no `variables` directive")
        source = example.variables[name]
        if isinstance(source, str) and source.startswith(_FROM):
            values[name] = _read_path(source.removeprefix(_FROM), answers, example.line)
        else:
            values[name] = source
    return values


def _read_path(path: str, answers: dict[str, Any], line: int) -> Any:
    root, *steps = path.split(".")
    if root not in answers:
        raise ReadmeError(f"line {line}: no earlier example answered `{root}`")
    value = answers[root]
    for step in steps:
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


def _directive(name: str, value: str, line: int) -> dict[str, Any]:
    if name in ("variables", "headers"):
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise ReadmeError(f"line {line}: `{name}` takes a JSON object")
        return {name: parsed}
    if name == "expect" and re.fullmatch(r"[A-Z_]+", value):
        return {"expect": value}
    if name == "server":
        settings = tuple(tuple(pair.split("=", 1)) for pair in value.split())
        if not settings or any(len(pair) != 2 for pair in settings):
            raise ReadmeError(f"line {line}: `server` takes NAME=value settings")
        return {"settings": tuple(sorted(settings))}
    raise ReadmeError(f"line {line}: unknown directive `{name} {value}`")


def _closing_fence(lines: list[str], start: int) -> int:
    for index in range(start + 1, len(lines)):
        if lines[index].strip() == "```":
            return index
    raise ReadmeError(f"line {start + 1}: a code block that never closes")


def _block(language: str, body: str, line: int, directives: dict[str, Any]) -> list[Example]:
    if language == "graphql":
        return [GraphQLExample(line=line, document=body, **directives)]
    if language == "sh":
        return [_curl_example(command, line, directives) for command in _curls(body)]
    return []


def _curls(body: str) -> list[str]:
    """The curl commands of a shell block that call the local server (and nothing else)."""
    commands = body.replace("\\\n", " ").splitlines()
    return [
        command
        for command in commands
        if command.strip().startswith("curl ")
        and f"{LOCAL_SERVER}/" in command
        and not any(mark in command for mark in ("|", ";", "&&", ">"))
    ]


def _curl_example(command: str, line: int, directives: dict[str, Any]) -> CurlExample:
    words = shlex.split(command)[1:]
    headers: dict[str, str] = {}
    method, url, body = "", "", None
    while words:
        word = words.pop(0)
        if word in ("-H", "--header"):
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-raw"):
            body = words.pop(0)
        elif word in ("-X", "--request"):
            method = words.pop(0)
        elif word.startswith(LOCAL_SERVER):
            url = word
        elif word not in ("-s", "--silent", "-S", "-f", "--fail", "-i"):
            raise ReadmeError(f"line {line}: a curl option the test does not know: {word}")
    return CurlExample(
        line=line,
        method=method or ("POST" if body is not None else "GET"),
        path=url.removeprefix(LOCAL_SERVER),
        body=body,
        curl_headers=headers,
        **directives,
    )
