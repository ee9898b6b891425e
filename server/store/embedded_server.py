"""The embedded DynamoDB: a moto server in a child process of its own.

Run as `python -m server.store.embedded_server`: binds a free loopback port, prints it on the
first line of stdout, serves until its stdin closes (so it never outlives its parent, even
one that was killed) or it gets SIGTERM. `EMBEDDED_DYNAMODB_LATENCY_MS` (benchmarks only)
delays every request by that much, as a network would.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(
        "127.0.0.1",
        0,
        serialized(create_backend_app("dynamodb")),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


def serialized(app: Any) -> Any:
    """The app, handling one request at a time.

    moto's DynamoDB checks a condition and then writes without a lock, so two threads can
    both pass one condition; DynamoDB itself makes each write atomic. Connections are still
    served by threads, so keep-alive clients do not wait on each other's idle sockets.
    """
    lock = threading.Lock()
    latency = float(os.environ.get("EMBEDDED_DYNAMODB_LATENCY_MS", "0")) / 1000

    def handle(environ: Any, start_response: Any) -> Any:
        if latency:
            time.sleep(latency)  # a network's round trip, for the benchmark; outside the lock
        with lock:
            return list(app(environ, start_response))

    return handle


def _exit_when_parent_goes() -> None:
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
