"""What the benchmarks share: their command-line sizes and the sections they append to
BENCHMARKS.md."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

__all__ = ["append_section", "machine", "parsed_sizes", "size_arguments"]


def size_arguments(parser: argparse.ArgumentParser, *, projects: str = "1,10,50,200") -> None:
    """`--latency-ms`, `--projects`, `--runs`, `--profiles` and `--write`, parsed by
    `parsed_sizes`."""
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--projects", default=projects)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profiles", default="small,realistic")
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")


def parsed_sizes(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments, with `projects` a list of ints and `profiles` a list of names."""
    args = parser.parse_args()
    args.projects = [int(p) for p in args.projects.split(",")]
    args.profiles = args.profiles.split(",")
    return args


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def append_section(path: Path, title: str, conditions: str, body: str) -> None:
    """Append `## {title}, {date}` to `path`: the command that ran (this process's), the
    machine and `conditions`, then `body`."""
    command = f"python {Path(sys.argv[0]).as_posix()} " + " ".join(sys.argv[1:])
    section = (
        f"\n## {title}, {time.strftime('%Y-%m-%d')}\n\n"
        f"Command: `{command.strip()}` ({machine()}); {conditions}\n\n{body}\n"
    )
    with path.open("a") as out:
        out.write(section)
