"""What idle `deploymentUpdated` subscriptions cost, and how fast changes reach them.

Usage: python bench/subscriptions.py [--feeds poll,streams] [--subscribers 1,100,1000]
                                     [--changes 200] [--idle 5000] [--write BENCHMARKS.md]

One embedded DynamoDB (a moto server) holds everything; each server is `python -m server
serve` in a process of its own (`STORE=dynamodb`, `DEPLOYER=none`, `CHANGE_FEED` as the cell
says). A feed the server does not have (no `change_feed` setting, or not that value) is
recorded as n/a. Three measurements per feed:
- Idle reads: one server reaches moto through a recording proxy (`bench/peers.py`'s), which
  counts every request on the wire by its `X-Amz-Target`: GetItem, Query, BatchGetItem and the
  DynamoDB Streams GetRecords apart, the rest together. For 0, 1, 100 and 1,000 subscribers to
  one PENDING deployment, and spread over 100 PENDING deployments (one per user, so that no
  user passes a per-user cap), after `--settle` seconds (polling backs off to 2 s by then),
  requests per second over `--window` seconds.
- Delivery across instances: two servers on the same moto; 20 users each subscribe on A to a
  deployment of theirs; as an admin on B, `updateDeploymentStatus` (DEPLOYING, one log line)
  `--changes` times in all, each after an idle gap drawn from [0, `--gap`] s (a seeded random):
  the time from B's answer to A's event with that line, p50/p95/max; events missed (none within
  10 s), duplicated or out of order; then each moves to SUCCESS and its subscription must
  complete.
- `--idle` subscriptions on one server (through the proxy): 25 per WebSocket, over 100 users
  (the `X-Dev-User` of each connection_init). The server's RSS (/proc) before and after, its CPU
  while idle with them against while idle without, per subscription; the DynamoDB requests a
  second; and event-loop stalls seen from outside: a client (a process of its own) asks
  `/healthz` every 10 ms, one request at a time, through the idle window, and its slowest
  answers are the longest the server's loop was busy (plus a loopback round trip, and the wait
  for a core: moto, the proxy and the probe share the machine with the server). The probe's
  own requests are in both windows, so they cancel out of the CPU per subscription.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import itertools
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dashboard import PREFIX, process_cpu_seconds  # noqa: E402
from bench.peers import Call, ProxyThread, RecordingProxy  # noqa: E402
from bench.report import append_section  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import open_store  # noqa: E402
from server.store.embedded import EmbeddedDynamoDB  # noqa: E402
from server.wiring import store_options  # noqa: E402
from tests.servers import GRAPHQL_TRANSPORT_WS, free_port, wait_for_health  # noqa: E402

WATCH = "subscription Watch($id: ID!) { deploymentUpdated(id: $id) { id status logs } }"
CREATE_PROJECT = "mutation($name: String!) { createProject(input: { name: $name }) { id } }"
CREATE_DEPLOYMENT = "mutation($p: ID!) { createDeployment(projectId: $p) { id status } }"
MOVE = """
mutation Move($userId: ID!, $id: ID!, $status: DeploymentStatus!, $line: String!) {
  updateDeploymentStatus(userId: $userId, id: $id, status: $status, appendLogs: [$line]) { status }
}
"""
ADMIN = {"X-Dev-User": "bench-admin", "X-Dev-Groups": "admin"}
FEEDS = ("poll", "streams")
# Subscriptions one WebSocket carries, and spread deployments (one per user): within the
# per-connection and per-user caps of the shared watchers.
PER_CONNECTION = 25
SPREAD = 100
LATENCY_USERS = 20
# Settings that lift the subscription caps, for the cell of 1,000 subscribers of one user to
# one deployment (a cap the server does not have is not set).
CAPS_LIFTED = {
    "subscriptions_per_connection": str(PER_CONNECTION),
    "subscriptions_per_user": "2000",
    "subscriptions_per_instance": "20000",
}
FIRST_EVENT_SECONDS = 300
EVENT_SECONDS = 10
HEALTH_EVERY = 0.010
STALL_MS = 50
# Request kinds on the wire: reads of items, the stream's records, and everything else.
READS = ("GetItem", "Query", "BatchGetItem")
STREAM_READS = ("GetRecords",)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201


# -- servers ---------------------------------------------------------------------------------


def feed_available(feed: str) -> bool:
    """Whether this server has `CHANGE_FEED={feed}`. Before the setting existed, every
    subscription polled on its own: that is "poll"."""
    field_info = Settings.model_fields.get("change_feed")
    if field_info is None:
        return feed == "poll"
    return feed in str(field_info.annotation)


def server_environment(endpoint: str, feed: str, *, lift_caps: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "STORE": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": endpoint,
        "TABLE_PREFIX": PREFIX,
        "DEPLOYER": "none",
        "AUTH_MODE": "dev",
        # moto serves one request at a time: under thousands of polls its queue is long.
        "DYNAMODB_READ_TIMEOUT": "300",
        "OPERATION_TIMEOUT_SECONDS": "300",
    }
    if "change_feed" in Settings.model_fields:
        env["CHANGE_FEED"] = feed
    if lift_caps:
        env.update(
            {
                name.upper(): value
                for name, value in CAPS_LIFTED.items()
                if name in Settings.model_fields
            }
        )
    return env


def _die_with_parent() -> None:
    """In the child: SIGTERM when this harness dies, however it dies (no leaked servers)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Server:
    base: str
    pid: int

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)


@contextmanager
def server(endpoint: str, feed: str, *, lift_caps: bool = False) -> Iterator[Server]:
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "--log-level",
                "warning",
                "serve",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=server_environment(endpoint, feed, lift_caps=lift_caps),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            try:
                wait_for_health(base, process)
            except AssertionError:
                log.seek(0)
                raise RuntimeError(f"the server did not start:\n{log.read()}") from None
            yield Server(base, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- GraphQL over HTTP and WebSockets --------------------------------------------------------


async def ask(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    data: dict[str, Any] = body["data"]
    return data


@dataclass
class Deployment:
    user: str
    id: str


async def seed(base: str, users: list[str]) -> list[Deployment]:
    """A project and a PENDING deployment for each user, made through the API."""
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        gate = asyncio.Semaphore(8)

        async def one(user: str) -> Deployment:
            async with gate:
                me = {"X-Dev-User": user}
                project = await ask(http, CREATE_PROJECT, {"name": "watched"}, me)
                made = await ask(http, CREATE_DEPLOYMENT, {"p": project["createProject"]["id"]}, me)
                return Deployment(user, made["createDeployment"]["id"])

        return list(await asyncio.gather(*(one(user) for user in users)))


@dataclass
class Event:
    at: float
    payload: dict[str, Any]


@dataclass
class Subscription:
    deployment: Deployment
    events: list[Event] = field(default_factory=list)
    first: asyncio.Future[None] | None = None
    completed: asyncio.Future[None] | None = None
    # Futures waiting for the first event whose newest change line is the key's.
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)


class Socket:
    """One graphql-transport-ws WebSocket of one user, carrying many subscriptions."""

    def __init__(self, base: str, user: str) -> None:
        self.url = base.replace("http://", "ws://") + "/graphql"
        self.user = user
        self.subscriptions: dict[str, Subscription] = {}
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)

    async def open(self) -> None:
        self._socket = await connect(
            self.url, subprotocols=GRAPHQL_TRANSPORT_WS, max_size=None, open_timeout=120
        )
        init = {"type": "connection_init", "payload": {"X-Dev-User": self.user}}
        await self._socket.send(json.dumps(init))
        ack = json.loads(await self._socket.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        self._reader = asyncio.create_task(self._read())

    async def subscribe(self, deployment: Deployment) -> Subscription:
        assert self._socket is not None
        loop = asyncio.get_running_loop()
        sid = str(next(self._ids))
        subscription = Subscription(
            deployment, first=loop.create_future(), completed=loop.create_future()
        )
        self.subscriptions[sid] = subscription
        message = {
            "id": sid,
            "type": "subscribe",
            "payload": {"query": WATCH, "variables": {"id": deployment.id}},
        }
        await self._socket.send(json.dumps(message))
        return subscription

    async def _read(self) -> None:
        assert self._socket is not None
        async for raw in self._socket:
            message = json.loads(raw)
            kind, subscription = message.get("type"), self.subscriptions.get(message.get("id"))
            if kind == "ping":
                await self._socket.send(json.dumps({"type": "pong"}))
            elif subscription is None:
                continue
            elif kind == "next":
                self._arrived(subscription, message["payload"])
            elif kind == "error":
                subscription.errors.append(message["payload"])
                settle(subscription.first, RuntimeError(str(message["payload"])))
            elif kind == "complete":
                settle(subscription.completed, None)

    @staticmethod
    def _arrived(subscription: Subscription, payload: dict[str, Any]) -> None:
        at = time.perf_counter()
        if payload.get("errors"):
            subscription.errors.append(payload["errors"])
            settle(subscription.first, RuntimeError(str(payload["errors"])))
            return
        subscription.events.append(Event(at, payload))
        settle(subscription.first, None)
        newest = newest_change(payload)
        waiter = subscription.waiting.get(f"change {newest}")
        if waiter is not None and not waiter.done():
            waiter.set_result(at)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            await self._socket.close()


def deployment_of(payload: dict[str, Any]) -> dict[str, Any]:
    deployment: dict[str, Any] = (payload.get("data") or {}).get("deploymentUpdated") or {}
    return deployment


def newest_change(payload: dict[str, Any]) -> int:
    """The number of the newest `change N` log line an event shows; -1 when none (a status
    change adds a line of its own after it, so it is not always the last)."""
    logs = deployment_of(payload).get("logs") or []
    for line in reversed(logs):
        number = line.rpartition(" change ")[2]
        if " change " in line and number.isdigit():
            return int(number)
    return -1


def settle(future: asyncio.Future[Any] | None, outcome: Any) -> None:
    if future is None or future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def connection_batches(targets: list[Deployment]) -> list[tuple[str, list[Deployment]]]:
    """The targets by user, `PER_CONNECTION` to a WebSocket: (user, its targets) each."""
    by_user: dict[str, list[Deployment]] = {}
    for target in targets:
        by_user.setdefault(target.user, []).append(target)
    return [
        (user, wanted[start : start + PER_CONNECTION])
        for user, wanted in by_user.items()
        for start in range(0, len(wanted), PER_CONNECTION)
    ]


def move(target: Deployment, status: str, line: str) -> dict[str, str]:
    """`MOVE`'s variables."""
    return {"userId": target.user, "id": target.id, "status": status, "line": line}


async def open_subscriptions(
    stack: AsyncExitStack, base: str, targets: list[Deployment]
) -> list[Subscription]:
    """One subscription per target, `PER_CONNECTION` to a WebSocket of the target's user;
    returns once each has had its first event."""
    gate = asyncio.Semaphore(20)

    async def one(user: str, batch: list[Deployment]) -> list[Subscription]:
        async with gate:
            socket = Socket(base, user)
            await socket.open()
            stack.push_async_callback(socket.close)
            return [await socket.subscribe(target) for target in batch]

    groups = await asyncio.gather(*itertools.starmap(one, connection_batches(targets)))
    subscriptions = [subscription for group in groups for subscription in group]
    firsts = [s.first for s in subscriptions if s.first is not None]
    await asyncio.wait_for(asyncio.gather(*firsts), FIRST_EVENT_SECONDS)
    return subscriptions


# -- idle reads ------------------------------------------------------------------------------


@dataclass
class Rates:
    """DynamoDB requests a second on the wire, by kind."""

    by_operation: dict[str, float]

    @property
    def reads(self) -> float:
        return sum(self.by_operation.get(name, 0.0) for name in READS)

    @property
    def stream_reads(self) -> float:
        return sum(self.by_operation.get(name, 0.0) for name in STREAM_READS)

    @property
    def other(self) -> float:
        known = (*READS, *STREAM_READS)
        return sum(rate for name, rate in self.by_operation.items() if name not in known)

    def of(self, name: str) -> float:
        return self.by_operation.get(name, 0.0)


def rates(calls: list[Call], seconds: float) -> Rates:
    counts = Counter(call.operation for call in calls)
    return Rates({name: count / seconds for name, count in counts.items()})


async def window(proxies: ProxyThread, proxy: RecordingProxy, seconds: float) -> Rates:
    """The requests a second the proxy passed on over the next `seconds`."""
    proxies.loop.call_soon_threadsafe(proxy.take)
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    calls = proxies.run(take(proxy))
    return rates(calls, time.perf_counter() - started)


async def take(proxy: RecordingProxy) -> list[Call]:
    return proxy.take()


@dataclass
class IdleCell:
    feed: str
    subscribers: int
    deployments: int
    rates: Rates | None  # None: the server has no such feed, or the cell failed
    failure: str | None = None


async def idle_reads(
    args: argparse.Namespace, proxies: ProxyThread, moto: str, feed: str,
    solo: Deployment, spread: list[Deployment],
) -> list[IdleCell]:  # fmt: skip
    cells = [(0, 0), *((n, 1) for n in args.subscribers)]
    cells += [(n, len(spread)) for n in args.subscribers if n >= len(spread)]
    if not feed_available(feed):
        return [IdleCell(feed, n, d, None) for n, d in cells]
    proxy = RecordingProxy(moto)
    endpoint = proxies.run(proxy.start())
    results: list[IdleCell] = []
    try:
        with server(endpoint, feed, lift_caps=True) as api:
            for subscribers, deployments in cells:
                targets = [solo] * subscribers if deployments == 1 else [
                    spread[i % len(spread)] for i in range(subscribers)
                ]  # fmt: skip
                try:
                    async with AsyncExitStack() as stack:
                        await open_subscriptions(stack, api.base, targets)
                        await asyncio.sleep(args.settle)
                        measured = await window(proxies, proxy, args.window)
                    results.append(IdleCell(feed, subscribers, deployments, measured))
                except (RuntimeError, TimeoutError) as error:
                    # A refused subscription (a cap) fails its cell, not the run.
                    reason = " ".join(str(error).replace("|", "/").split())[:200]
                    failed = IdleCell(feed, subscribers, deployments, None, reason)
                    results.append(failed)
                say(format_idle(results[-1]))
                await asyncio.sleep(1)  # the closed sockets' subscriptions end
    finally:
        proxies.run(proxy.stop())
    return results


# -- delivery across two instances -----------------------------------------------------------


@dataclass
class Delivery:
    feed: str
    latencies: list[float] | None  # None: the server has no such feed
    changes: int = 0
    missed: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    completed: int = 0
    subscriptions: int = 0

    def quantile(self, q: float) -> float:
        assert self.latencies
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def delivery(args: argparse.Namespace, moto: str, feed: str) -> Delivery:
    if not feed_available(feed):
        return Delivery(feed, None)
    users = [f"latency-{feed}-{n}" for n in range(LATENCY_USERS)]
    per_user = max(1, args.changes // LATENCY_USERS)
    with server(moto, feed) as a, server(moto, feed) as b:
        targets = await seed(b.base, users)
        async with (
            AsyncExitStack() as stack,
            httpx.AsyncClient(base_url=b.base, timeout=60) as http,
        ):
            subscriptions = await open_subscriptions(stack, a.base, targets)
            result = Delivery(feed, [], subscriptions=len(subscriptions))

            async def drive(n: int, subscription: Subscription) -> None:
                chance = random.Random(n)
                target = subscription.deployment
                for k in range(per_user):
                    await asyncio.sleep(chance.uniform(0, args.gap))
                    marker = f"change {k}"
                    arrived = asyncio.get_running_loop().create_future()
                    subscription.waiting[marker] = arrived
                    await ask(http, MOVE, move(target, "DEPLOYING", marker), ADMIN)
                    answered = time.perf_counter()
                    result.changes += 1
                    try:
                        at = await asyncio.wait_for(arrived, EVENT_SECONDS)
                    except TimeoutError:
                        result.missed += 1
                        continue
                    assert result.latencies is not None
                    result.latencies.append(at - answered)
                await ask(http, MOVE, move(target, "SUCCESS", "done"), ADMIN)
                assert subscription.completed is not None
                try:
                    await asyncio.wait_for(subscription.completed, EVENT_SECONDS)
                    result.completed += 1
                except TimeoutError:
                    pass

            await asyncio.gather(*itertools.starmap(drive, enumerate(subscriptions)))
            for subscription in subscriptions:
                check_order(result, subscription)
    say(format_delivery(result))
    return result


def check_order(result: Delivery, subscription: Subscription) -> None:
    """Count the events delivered twice (the same logs again) and those older than the one
    before (fewer logs): every change appends a line, so the number of lines orders them."""
    lengths = [len(deployment_of(e.payload).get("logs") or []) for e in subscription.events]
    result.duplicated += len(lengths) - len(set(lengths))
    result.out_of_order += sum(1 for x, y in itertools.pairwise(lengths) if y < x)


# -- many idle subscriptions on one instance -------------------------------------------------


@dataclass
class Crowd:
    feed: str
    subscriptions: int
    connections: int = 0
    subscribe_seconds: float = 0.0
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    cpu_idle: float = 0.0  # CPU seconds a second, without subscriptions
    cpu_loaded: float = 0.0  # ... with them, idle
    rates: Rates | None = None  # None: the server has no such feed
    health_empty: list[float] = field(default_factory=list)
    health_loaded: list[float] = field(default_factory=list)

    @property
    def kb_each(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / self.subscriptions

    @property
    def cpu_us_each(self) -> float:
        return 1e6 * (self.cpu_loaded - self.cpu_idle) / self.subscriptions


# The probe runs in a process of its own, so that this one's proxy thread and WebSockets,
# busy under thousands of polls, do not hold its requests back (the GIL).
PROBE = """
import json, sys, time
import httpx
base, seconds, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
latencies = []
with httpx.Client(base_url=base, timeout=60) as http:
    http.get("/healthz")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        http.get("/healthz").raise_for_status()
        latencies.append(time.perf_counter() - started)
        time.sleep(every)
print(json.dumps(latencies))
"""


async def probe_health(base: str, seconds: float) -> list[float]:
    """`/healthz` latencies (s), one request at a time every `HEALTH_EVERY`, for `seconds`."""
    probe = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, base, str(seconds), str(HEALTH_EVERY),
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )  # fmt: skip
    out, _ = await probe.communicate()
    if probe.returncode != 0:
        raise RuntimeError(f"the /healthz probe failed ({probe.returncode})")
    latencies: list[float] = json.loads(out)
    return latencies


async def idle_window(api: Server, seconds: float) -> tuple[float, list[float]]:
    """The server's CPU seconds a second over `seconds`, and the health probe's latencies."""
    cpu, started = api.cpu_seconds(), time.perf_counter()
    health = await probe_health(api.base, seconds)
    return (api.cpu_seconds() - cpu) / (time.perf_counter() - started), health


async def crowd(
    args: argparse.Namespace, proxies: ProxyThread, moto: str, feed: str, spread: list[Deployment]
) -> Crowd:
    result = Crowd(feed, args.idle)
    if not feed_available(feed):
        return result
    proxy = RecordingProxy(moto)
    endpoint = proxies.run(proxy.start())
    try:
        with server(endpoint, feed) as api:
            await asyncio.sleep(args.settle)
            result.rss_before_kb = api.rss_kb()
            result.cpu_idle, result.health_empty = await idle_window(api, args.window)
            targets = [spread[i % len(spread)] for i in range(args.idle)]
            async with AsyncExitStack() as stack:
                started = time.perf_counter()
                await open_subscriptions(stack, api.base, targets)
                result.subscribe_seconds = time.perf_counter() - started
                result.connections = len(connection_batches(targets))
                await asyncio.sleep(args.settle)
                proxies.loop.call_soon_threadsafe(proxy.take)
                wire_started = time.perf_counter()
                result.cpu_loaded, result.health_loaded = await idle_window(api, 2 * args.window)
                calls = proxies.run(take(proxy))
                result.rates = rates(calls, time.perf_counter() - wire_started)
                result.rss_after_kb = api.rss_kb()
    finally:
        proxies.run(proxy.stop())
    say(format_crowd(result))
    return result


# -- the report ------------------------------------------------------------------------------

IDLE_HEADER = (
    "| feed | subscribers | deployments | reads/s (GetItem + Query + BatchGetItem) | GetItem/s "
    "| Query/s | BatchGetItem/s | Streams GetRecords/s | other requests/s |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)
DELIVERY_HEADER = (
    "| feed | changes | p50 ms | p95 ms | max ms | missed | duplicated | out of order "
    "| completed after SUCCESS |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)
CROWD_HEADER = (
    "| feed | subscriptions | connections | subscribed in s | RSS before MB | RSS after MB "
    "| KB / subscription | CPU idle % | CPU with them % | µs/s / subscription | reads/s "
    "| GetRecords/s | /healthz p50 / p99 / max ms (empty) "
    "| /healthz p50 / p99 / max ms (with them) "
    f"| probes over {STALL_MS} ms |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def format_idle(cell: IdleCell) -> str:
    head = f"| {cell.feed} | {cell.subscribers:,} | {cell.deployments} |"
    if cell.failure is not None:
        return head + f" failed: {cell.failure} |" + " |" * 5
    if cell.rates is None:
        return head + " n/a | n/a | n/a | n/a | n/a | n/a |"
    r = cell.rates
    return (
        f"{head} {r.reads:,.1f} | {r.of('GetItem'):,.1f} | {r.of('Query'):,.1f} "
        f"| {r.of('BatchGetItem'):,.1f} | {r.stream_reads:,.1f} | {r.other:,.1f} |"
    )


def format_delivery(d: Delivery) -> str:
    if d.latencies is None:
        return f"| {d.feed} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
    if not d.latencies:
        return (
            f"| {d.feed} | {d.changes} | - | - | - | {d.missed} | {d.duplicated} "
            f"| {d.out_of_order} | {d.completed}/{d.subscriptions} |"
        )
    return (
        f"| {d.feed} | {d.changes} | {1000 * d.quantile(0.5):.0f} | {1000 * d.quantile(0.95):.0f} "
        f"| {1000 * max(d.latencies):.0f} | {d.missed} | {d.duplicated} | {d.out_of_order} "
        f"| {d.completed}/{d.subscriptions} |"
    )


def probe_summary(latencies: list[float]) -> str:
    if not latencies:
        return "-"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return f"{1000 * statistics.median(ordered):.1f} / {1000 * p99:.1f} / {1000 * ordered[-1]:.1f}"


def format_crowd(c: Crowd) -> str:
    if c.rates is None:
        return f"| {c.feed} | {c.subscriptions:,} |" + " n/a |" * 13
    stalls = sum(1 for latency in c.health_loaded if latency > STALL_MS / 1000)
    return (
        f"| {c.feed} | {c.subscriptions:,} | {c.connections} | {c.subscribe_seconds:.1f} "
        f"| {c.rss_before_kb / 1024:.0f} | {c.rss_after_kb / 1024:.0f} | {c.kb_each:.1f} "
        f"| {100 * c.cpu_idle:.1f} | {100 * c.cpu_loaded:.1f} | {c.cpu_us_each:.0f} "
        f"| {c.rates.reads:,.0f} | {c.rates.stream_reads:,.1f} | {probe_summary(c.health_empty)} "
        f"| {probe_summary(c.health_loaded)} | {stalls} of {len(c.health_loaded)} |"
    )


def report(idle: list[IdleCell], deliveries: list[Delivery], crowds: list[Crowd]) -> str:
    return "\n".join(
        [
            "Idle DynamoDB requests a second, on the wire:",
            "",
            IDLE_HEADER,
            *map(format_idle, idle),
            "",
            "Delivery across two instances (from B's answer to A's event):",
            "",
            DELIVERY_HEADER,
            *map(format_delivery, deliveries),
            "",
            "Idle subscriptions on one instance:",
            "",
            CROWD_HEADER,
            *map(format_crowd, crowds),
        ]
    )


# -- the run -------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> str:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    idle: list[IdleCell] = []
    deliveries: list[Delivery] = []
    crowds: list[Crowd] = []
    proxies = ProxyThread()
    try:
        with EmbeddedDynamoDB() as moto:
            settings = Settings(
                store="dynamodb", dynamodb_endpoint_url=moto, table_prefix=PREFIX,
                dynamodb_read_timeout=300,
            )  # fmt: skip
            async with open_store(store_options(settings)) as store:
                await store.create_tables()
            with server(moto, "poll") as seeder:
                (solo,) = await seed(seeder.base, ["solo"])
                spread = await seed(seeder.base, [f"spread-{n}" for n in range(SPREAD)])
            for feed in args.feeds:
                idle += await idle_reads(args, proxies, moto, feed, solo, spread)
                deliveries.append(await delivery(args, moto, feed))
                crowds.append(await crowd(args, proxies, moto, feed, spread))
    finally:
        proxies.close()
    return report(idle, deliveries, crowds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", default=",".join(FEEDS))
    parser.add_argument("--subscribers", default="1,100,1000")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--gap", type=float, default=3.0, help="most idle seconds between changes")
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--settle", type=float, default=4.0)
    parser.add_argument("--window", type=float, default=6.0)
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    args.feeds = args.feeds.split(",")
    args.subscribers = [int(n) for n in args.subscribers.split(",")]
    started = time.perf_counter()
    text = report_text = asyncio.run(bench(args))
    print(report_text)  # noqa: T201
    say(f"{time.perf_counter() - started:.0f} s")
    if args.write:
        append_section(
            args.write,
            "Idle subscriptions and their delivery",
            f"{args.settle:g} s to settle, then {args.window:g} s measured (twice that for "
            f"{args.idle:,} subscriptions); {args.changes} changes each after up to "
            f"{args.gap:g} s idle; a feed the server does not have is n/a.",
            text,
        )


if __name__ == "__main__":
    main()
