"""The HTTP protocol's bounds, against a real server over raw sockets: request heads are
bounded in size and time, bodies in time, and each refusal is JSON that closes the connection.

The server runs with 0.5 s deadlines; tests that wait for one wait for the server's own
answer, bounded by a socket timeout, never a sleep.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from server.edge.protocol import MAX_HEAD_BYTES, MAX_HEADERS, MAX_REQUEST_LINE_BYTES
from tests.servers import serving

DEADLINE = "0.5"
START = b"POST /graphql HTTP/1.1\r\nHost: localhost\r\n"
QUERY = b'{"query": "{ viewer { userId } }"}'


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving(
        REQUEST_HEADER_TIMEOUT_SECONDS=DEADLINE, REQUEST_BODY_TIMEOUT_SECONDS=DEADLINE
    ) as (base, _):
        yield int(base.rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the one response the server sends before closing."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def refusal(sock: socket.socket) -> tuple[int, str, str]:
    """Status, code and message of a JSON refusal that closes the connection."""
    status, headers, body = answer(sock)
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error: dict[str, Any] = json.loads(body)["errors"][0]
    return status, error["extensions"]["code"], error["message"]


def request(headers: bytes = b"", body: bytes = QUERY) -> bytes:
    length = f"content-length: {len(body)}\r\n".encode()
    return START + b"content-type: application/json\r\n" + headers + length + b"\r\n" + body


def test_a_normal_request_is_served(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(request(b"connection: close\r\n"))
        status, _, body = answer(sock)

    assert status == 200
    assert json.loads(body)["data"] == {"viewer": {"userId": "dev-user"}}


def test_a_huge_header_is_refused_with_431_while_it_is_still_being_sent(port: int) -> None:
    chunk = b"a" * 65536
    sent = 0
    with connect(port) as sock:
        sock.sendall(START + b"Authorization: Bearer ")
        # The old protocol read a 30 MB header to its end before anything could refuse it;
        # this one answers once the head passes its bound, while the client still sends.
        while sent < 2 * 1024 * 1024 and not select.select([sock], [], [], 0.05)[0]:
            sock.sendall(chunk)
            sent += len(chunk)
        status, code, message = refusal(sock)

    assert status == 431
    assert code == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert f"larger than {MAX_HEAD_BYTES} bytes" in message


def test_headers_just_under_the_bound_are_served(port: int) -> None:
    padding = b"x" * (MAX_HEAD_BYTES - 1024)
    with connect(port) as sock:
        sock.sendall(request(b"x-padding: " + padding + b"\r\nconnection: close\r\n"))
        status, _, _ = answer(sock)

    assert status == 200


def test_too_many_header_fields_are_refused_with_431(port: int) -> None:
    fields = b"".join(b"x-field-%d: 1\r\n" % number for number in range(MAX_HEADERS + 1))
    with connect(port) as sock:
        sock.sendall(request(fields))
        status, code, message = refusal(sock)

    assert (status, code) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")
    assert f"more than {MAX_HEADERS} header fields" in message


def test_a_request_line_over_8_kib_is_refused_with_414(port: int) -> None:
    path = b"/graphql?q=" + b"a" * MAX_REQUEST_LINE_BYTES
    with connect(port) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, code, _ = refusal(sock)

    assert (status, code) == (414, "URI_TOO_LONG")


def test_headers_slower_than_the_deadline_get_408(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(START + b"x-slow: ")  # and nothing more: the server's deadline fires
        status, code, message = refusal(sock)

    assert (status, code) == (408, "REQUEST_TIMEOUT")
    assert f"headers took longer than {DEADLINE} s" in message


def test_a_connection_that_sends_nothing_gets_408(port: int) -> None:
    with connect(port) as sock:
        status, code, _ = refusal(sock)

    assert (status, code) == (408, "REQUEST_TIMEOUT")


def test_a_body_slower_than_the_deadline_gets_408(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(request(body=QUERY)[: -len(QUERY) + 5])  # the head and 5 bytes of body
        status, code, message = refusal(sock)

    assert (status, code) == (408, "REQUEST_TIMEOUT")
    assert f"body took longer than {DEADLINE} s" in message


def test_invalid_http_is_a_json_400(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, code, _ = refusal(sock)

    assert (status, code) == (400, "BAD_REQUEST")


def bad_requests(port: int) -> None:
    """One of each bad request a client can send; each must cost at most a line of log."""
    with connect(port) as sock:  # dropped mid-body
        sock.sendall(request(body=QUERY)[:-10])
    for body in (b'"x"', b"5", b"null", b"\xff", b"[" * 10_000 + b"]" * 10_000):
        with connect(port) as sock:
            sock.sendall(request(b"connection: close\r\n", body))
            answer(sock)
    with connect(port) as sock:  # slow body
        sock.sendall(request(body=QUERY)[:-10])
        answer(sock)
    with connect(port) as sock:
        sock.sendall(START + b"x-big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n\r\n")
        answer(sock)


def test_bad_requests_log_no_traceback_and_a_line_at_most_each() -> None:
    with serving(REQUEST_BODY_TIMEOUT_SECONDS=DEADLINE) as (base, process):
        bad_requests(int(base.rsplit(":", 1)[1]))
        log = stopped(process)

    after_start = log.split("Application startup complete.", 1)[1]
    assert "Traceback" not in after_start
    assert "ERROR" not in after_start
    assert len(after_start) < 3000, after_start


def stopped(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)
    assert process.stdout is not None
    return process.stdout.read()
