"""The Makefile's own steps, before any server: where `make run` serves, and how it makes the
venv that uv then fills."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **environment},
        timeout=120,
        check=True,
    )


def test_make_run_serves_on_the_port_and_host_it_is_given() -> None:
    planned = make("-n", "run", "PORT=8080", "HOST=localhost")

    assert "-m server serve --host localhost --port 8080" in planned.stdout


def test_the_venv_gets_its_pip_from_pythons_own_wheel_without_setuptools_or_compiling(
    tmp_path: Path,
) -> None:
    # given no venv, and no index (the wheel Python ships is all this needs; uv left out)
    venv = tmp_path / "venv"

    # when make bootstraps it
    make(f"VENV={venv}", "UV_REQUIREMENT=", f"{venv}/bin/uv", PIP_NO_INDEX="1")

    # then it has pip, and nothing `python -m venv` would have added and compiled
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert (site / "pip").is_dir()
    assert not (site / "setuptools").exists()
    assert not list(site.rglob("*.pyc"))
    # and that pip works
    version = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("pip ")
