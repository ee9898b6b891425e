"""The installed size of each environment the lock pins: production, `make run`, `make test`.

Each is a fresh `python -m venv` into which pip installs the lock's requirements for that set
of extras (hashed, as `uv export` writes them; production's is `requirements/runtime.txt`,
what the container and the Lambda build install) and then the project itself, as
`pip install --no-deps .`. Reported: `du -sk` of site-packages, of which the venv's own pip
and setuptools, and the number of distributions.

Usage: python bench/install_size.py [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import append_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
# What `python -m venv` puts in every environment, whatever is installed into it.
VENV_OWN = ("pip", "setuptools", "pkg_resources", "_distutils_hack")


@dataclass(frozen=True)
class Install:
    name: str
    extras: tuple[str, ...]
    used_by: str


INSTALLS = (
    Install("production", (), "`pip install .`: the container, the Lambda build"),
    Install("embedded", ("embedded",), "`make run`: `.[embedded]`"),
    Install("development", ("embedded", "dev"), "`make test`, CI: `.[embedded,dev]`"),
)


@dataclass(frozen=True)
class Measured:
    install: Install
    site_packages_kb: int
    venv_own_kb: int
    distributions: int


def requirements(install: Install, directory: Path) -> Path:
    if not install.extras:
        return RUNTIME_REQUIREMENTS
    path = directory / f"{install.name}.txt"
    extras = [arg for extra in install.extras for arg in ("--extra", extra)]
    subprocess.run(
        [sys.executable, "-m", "uv", "export", "--frozen", "--no-emit-project", *extras]
        + ["--format", "requirements-txt", "--quiet", "--output-file", str(path)],
        cwd=ROOT,
        check=True,
    )
    return path


def measure(install: Install, directory: Path) -> Measured:
    venv = directory / install.name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    locked = requirements(install, directory)
    subprocess.run([*pip, "--require-hashes", "-r", str(locked)], check=True)
    subprocess.run([*pip, str(ROOT)], check=True)
    (site_packages,) = (venv / "lib").glob("python3*/site-packages")
    own = [str(path) for name in VENV_OWN for path in site_packages.glob(f"{name}*")]
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Measured(
        install,
        site_packages_kb=kilobytes(str(site_packages)),
        venv_own_kb=kilobytes(*own),
        distributions=len(frozen.stdout.splitlines()),
    )


def kilobytes(*paths: str) -> int:
    """`du -sk` of `paths` together."""
    out = subprocess.run(["du", "-skc", *paths], capture_output=True, text=True, check=True)
    return int(out.stdout.splitlines()[-1].split()[0])


def table(results: list[Measured]) -> str:
    rows = [
        "| install | used by | site-packages | of which pip and setuptools | distributions |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        rows.append(
            f"| {result.install.name} | {result.install.used_by} "
            f"| {result.site_packages_kb / 1024:.0f} MB | {result.venv_own_kb / 1024:.0f} MB "
            f"| {result.distributions} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="install-size-") as directory:
        results = [measure(install, Path(directory)) for install in INSTALLS]
    body = table(results)
    print(body)  # noqa: T201
    if args.write:
        conditions = (
            "each a fresh venv, the lock's hashed requirements and then the project installed"
            " by pip; sizes are `du -sk` of site-packages."
        )
        append_section(args.write, "Installed size of each environment", conditions, body)


if __name__ == "__main__":
    main()
