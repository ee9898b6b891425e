"""What a newcomer's first `make run` costs: a fresh clone of this repository, `make run
PORT=<free>`, timed until its first GraphQL request is answered.

Cold: uv's and pip's caches empty (`UV_CACHE_DIR`, `PIP_CACHE_DIR` in empty temp dirs), as on
a machine that never installed anything. Warm: another fresh clone, the caches as the cold
run left them (a second project, or the same one after `make clean`). Each run is split in
its steps, read from make's output as it comes: the venv and pip installing uv, `uv sync`,
then the server's start up to its first answer.

Usage: python bench/first_run.py [--runs N] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import append_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUERY = {"query": "{ projects { id } builtinTools { name } }"}
BOUND = 300  # seconds a run may take before it counts as broken
# Lines of make's output that end a step (the first line that contains each).
STEPS = (("venv + uv", " sync "), ("uv sync", "touch .venv/"))


@dataclass
class Run:
    total: float
    steps: dict[str, float]
    load: float  # the machine's 1-minute load average as the run started
    cpu: float  # seconds of CPU make and everything it started used, until they stopped


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def first_run(workdir: Path, caches: Path) -> Run:
    """Clone into `workdir`, `make run` there with `caches` as uv's and pip's, time it."""
    repo = workdir / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    port = free_port()
    env = _newcomer_environment(caches)
    seen: dict[str, float] = {}
    load = os.getloadavg()[0]
    cpu_before = _children_cpu()
    started = time.monotonic()
    make = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: make, the server and its moto
    )
    reader = threading.Thread(target=_mark_steps, args=(make, started, seen), daemon=True)
    reader.start()
    try:
        total = _until_answered(port, make, started)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
        reader.join(timeout=5)
    cpu = _children_cpu() - cpu_before
    return Run(total=total, steps=_split(seen, total), load=load, cpu=cpu)


def _children_cpu() -> float:
    """CPU seconds of this process's children (and theirs) that have ended: load on the
    machine lengthens a run's wall time, hardly its CPU time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _newcomer_environment(caches: Path) -> dict[str, str]:
    """This environment without a venv or any of the server's settings, and with `caches`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "STORE", "AUTH_MODE", "DEPLOYER")
        and not key.startswith(("UV_", "PIP_CACHE", "PIP_NO_CACHE"))
    }
    env["UV_CACHE_DIR"] = str(caches / "uv")
    env["PIP_CACHE_DIR"] = str(caches / "pip")
    return env


def _mark_steps(make: subprocess.Popen[str], started: float, seen: dict[str, float]) -> None:
    assert make.stdout is not None
    for line in make.stdout:
        for name, marker in STEPS:
            if marker in line and name not in seen:
                seen[name] = time.monotonic() - started


def _until_answered(port: int, make: subprocess.Popen[str], started: float) -> float:
    while time.monotonic() - started < BOUND:
        if make.poll() is not None:
            raise RuntimeError(f"make run stopped with {make.returncode} before answering")
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/graphql", json=QUERY, timeout=5)
            if response.status_code == 200 and "errors" not in response.json():
                return time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"no answer within {BOUND} s")


def _split(seen: dict[str, float], total: float) -> dict[str, float]:
    """Each step's own seconds: up to its marker, from the previous one's."""
    steps: dict[str, float] = {}
    previous = 0.0
    for name, _ in STEPS:
        at = seen.get(name, previous)
        steps[name] = at - previous
        previous = at
    steps["server start"] = total - previous
    return steps


def measure(runs: int) -> dict[str, list[Run]]:
    results: dict[str, list[Run]] = {"cold": [], "warm": []}
    for index in range(runs):
        with tempfile.TemporaryDirectory(prefix="first-run-") as scratch:
            caches = Path(scratch) / "caches"
            for mode in ("cold", "warm"):  # warm: a second clone on the caches cold filled
                workdir = Path(scratch) / mode
                workdir.mkdir()
                run = first_run(workdir, caches)
                results[mode].append(run)
                steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.steps.items())
                print(  # noqa: T201
                    f"run {index + 1} {mode}: {run.total:.1f} s ({steps};"
                    f" CPU {run.cpu:.1f} s; load {run.load:.1f})",
                    flush=True,
                )
    return results


def table(results: dict[str, list[Run]]) -> str:
    names = [name for name, _ in STEPS] + ["server start"]
    rows = [
        "| caches | first answer (median) | runs | "
        + " | ".join(names)
        + " | CPU (median) | load |",
        "| --- | ---: | --- | " + " | ".join("---:" for _ in names) + " | ---: | --- |",
    ]
    for mode, runs in results.items():
        median = statistics.median(run.total for run in runs)
        each = ", ".join(f"{run.total:.1f}" for run in runs)
        steps = " | ".join(
            f"{statistics.median(run.steps[name] for run in runs):.1f} s" for name in names
        )
        loads = ", ".join(f"{run.load:.1f}" for run in runs)
        cpu = statistics.median(run.cpu for run in runs)
        rows.append(f"| {mode} | **{median:.1f} s** | {each} | {steps} | {cpu:.1f} s | {loads} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    results = measure(args.runs)
    print(table(results))  # noqa: T201
    if args.write:
        conditions = (
            "a fresh `git clone` of the repository each run, `make run PORT=<free>` until"
            " `{ projects { id } builtinTools { name } }` is answered; cold: uv's and pip's"
            " caches empty, warm: a second clone on the caches the cold run filled; the steps"
            " are medians, split at make's own output; load: the 1-minute load average as each"
            " run started (other work on the machine slows every step); CPU: user + system"
            " seconds of make and all it started"
        )
        append_section(args.write, "First `make run` on a fresh clone", conditions, table(results))


if __name__ == "__main__":
    main()
