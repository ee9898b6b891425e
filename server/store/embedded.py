"""Start and stop the embedded DynamoDB (a moto server) as a child process.

A child process rather than a thread: moto would otherwise share the GIL with the API server.
"""

from __future__ import annotations

import importlib.util
import select
import subprocess
import sys

__all__ = [
    "EMBEDDED_MODULES",
    "INSTALL_EMBEDDED",
    "EmbeddedDynamoDB",
    "EmbeddedStartError",
    "missing_embedded_modules",
]

START_TIMEOUT_SECONDS = 30.0

# The top-level modules `server.store.embedded_server` imports: the `embedded` extra, which
# `pip install .` leaves out (a production server talks to DynamoDB itself).
EMBEDDED_MODULES = ("moto", "werkzeug", "flask", "flask_cors")
INSTALL_EMBEDDED = "pip install '.[embedded]'"


class EmbeddedStartError(RuntimeError):
    pass


def missing_embedded_modules() -> list[str]:
    """The embedded server's modules this environment lacks; none with the extra installed.

    Looked up, not imported: moto is for the child process, never this one.
    """
    return [name for name in EMBEDDED_MODULES if importlib.util.find_spec(name) is None]


class EmbeddedDynamoDB:
    """`start()` returns the endpoint URL; `stop()` ends the process. Both block."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.endpoint_url: str | None = None

    def start(self) -> str:
        missing = missing_embedded_modules()
        if missing:
            raise EmbeddedStartError(
                f"the embedded DynamoDB needs {', '.join(missing)}: {INSTALL_EMBEDDED}"
            )
        process = subprocess.Popen(
            [sys.executable, "-m", "server.store.embedded_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            raise EmbeddedStartError("the embedded DynamoDB (moto server) did not start")
        self.endpoint_url = f"http://127.0.0.1:{int(line)}"
        return self.endpoint_url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
