"""Side by side with the conventional alternatives: the same operations on the same items.

Usage: python bench/peers.py [--latency-ms 5] [--projects 1,10,50,200] [--runs 5]
                             [--profiles small,realistic] [--write BENCHMARKS.md]

Three servers answer the four operations of `bench/reads.py` (Dashboard, `project(id)`,
`agent(id) { tools builtinTools }`, `deployment(id) { project { name } }`), each in its own
process, over one embedded DynamoDB (moto, `--latency-ms` before every request) per profile and
P, seeded once:
- server:     `python -m server serve`, as shipped (`bench/dashboard.py`'s `api_server`);
- apollo:     `bench/peers/apollo/server.js`, Apollo Server + DataLoader in Node, one loader per
              table batching BatchGetItem by id (`npm ci` runs first when `node_modules` is
              missing; without `node` this peer is left out, with a line saying so);
- strawberry: `bench/peers/strawberry_dataloader.py`, strawberry's documented DataLoader
              pattern with the same access pattern, under uvicorn.
Each server reaches moto through a recording proxy of its own, run by this process on a thread:
it forwards every DynamoDB request and keeps its `X-Amz-Target`, JSON body, start and end, so
all three are measured the same way, on the wire:
- requests per operation, and sequential rounds (a round starts when a request starts with
  none in flight);
- bytes DynamoDB would read, computed from the request bodies with `bench/reads.py`'s rules (a
  Query page reads every item of the partition from its start key on, whole, up to 1 MB; Get
  and BatchGet read each named item whole) and its floor (the full size of what the answer
  shows), and eventually consistent read units;
- p50/p95 latency at the client, the server process's own CPU per operation (/proc), and
  moto's CPU per operation (its share of the latency, which does not carry over to DynamoDB).
Each profile and P is seeded on a moto of its own: moto's Query walks the whole table, so other
users' items would slow Queries that DynamoDB answers from the partition alone.
Before measuring, every operation's `data` from the peers is compared with the server's; a
difference is printed and listed under the table. Runs of the three servers are interleaved
(server, apollo, strawberry, server, ...) after one warm-up each, at concurrency 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dashboard import PREFIX, api_server, process_cpu_seconds  # noqa: E402
from bench.reads import PROFILES, Index, documents, floor, read_cost  # noqa: E402
from bench.report import append_section, parsed_sizes, size_arguments  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import open_store  # noqa: E402
from server.store.embedded import EmbeddedDynamoDB  # noqa: E402
from server.wiring import store_options  # noqa: E402
from tests.servers import free_port  # noqa: E402

PEERS = ROOT / "bench" / "peers"
APOLLO = PEERS / "apollo"
STRAWBERRY = PEERS / "strawberry_dataloader.py"
SERVERS = ("server", "apollo", "strawberry")
READY_SECONDS = 60
# What a server's failure to answer looks like to `ask`.
FAILURES = (RuntimeError, ValueError, httpx.HTTPError)
# Headers that belong to one hop of HTTP, not to the request the proxy passes on.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201


# -- the recording proxy ---------------------------------------------------------------------


@dataclass
class Call:
    """One DynamoDB request as the proxy passed it on."""

    operation: str  # the X-Amz-Target's action, e.g. "BatchGetItem"
    body: bytes
    started: float
    ended: float


@dataclass
class RecordingProxy:
    """Forwards one server's DynamoDB requests to moto and keeps each one (`take()`)."""

    upstream: str
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        _, port = self._runner.addresses[0][:2]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def take(self) -> list[Call]:
        """The calls since the last `take()` (none may be in flight)."""
        calls, self.calls = self.calls, []
        return calls

    async def _forward(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        assert self._session is not None
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            status, kept = answer.status, answer.headers.items()
        ended = time.perf_counter()
        target = request.headers.get("X-Amz-Target", "")
        self.calls.append(Call(target.rpartition(".")[2], body, started, ended))
        return web.Response(
            body=payload,
            status=status,
            headers={k: v for k, v in kept if k.lower() not in HOP_BY_HOP},
        )


class ProxyThread:
    """An event loop on a thread of its own for the proxies: the servers' starts block this
    process's main thread while they already talk to DynamoDB."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


# -- what the calls read ---------------------------------------------------------------------


def sequential_rounds(calls: list[Call]) -> int:
    """How many times a request started with none in flight."""
    rounds, busy_until = 0, -math.inf
    for call in sorted(calls, key=lambda c: c.started):
        if call.started >= busy_until:
            rounds += 1
        busy_until = max(busy_until, call.ended)
    return rounds


def reads_of(call: Call) -> list[dict[str, Any]]:
    """The keys a call named, as `bench/reads.py`'s `read_cost` takes them (see
    `server.store.instrument`), from the request body on the wire."""
    if call.operation not in ("Query", "GetItem", "BatchGetItem"):
        return [{"operation": call.operation}]
    params = json.loads(call.body)
    if call.operation == "Query":
        condition = params.get("KeyConditionExpression", "")
        values = params.get("ExpressionAttributeValues", {})
        return [
            {
                "operation": "Query",
                "table": params["TableName"],
                "key": {name: plain(v) for name, v in values.items() if name in condition},
                "start": plain_key(params.get("ExclusiveStartKey")),
                "consistent": bool(params.get("ConsistentRead")),
            }
        ]
    if call.operation == "GetItem":
        return [
            {
                "operation": "GetItem",
                "table": params["TableName"],
                "keys": [plain_key(params["Key"])],
                "consistent": bool(params.get("ConsistentRead")),
            }
        ]
    return [
        {
            "operation": "BatchGetItem",
            "table": table,
            "keys": [plain_key(key) for key in request.get("Keys", ())],
            "consistent": bool(request.get("ConsistentRead")),
        }
        for table, request in params.get("RequestItems", {}).items()
    ]


def plain_key(key: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if key is None else {name: plain(value) for name, value in key.items()}


def plain(value: dict[str, Any]) -> Any:
    """A key attribute's value without its wire type (`{"S": "x"}` -> `"x"`)."""
    return next(iter(value.values()))


# -- the three servers -----------------------------------------------------------------------


@dataclass
class Running:
    name: str
    base: str
    pid: int
    proxy: RecordingProxy


def peer_environment(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "DYNAMODB_ENDPOINT_URL": endpoint,
        "TABLE_PREFIX": PREFIX,
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }


@contextmanager
def peer_process(
    name: str, command: list[str], cwd: Path, env: dict[str, str], port: int
) -> Iterator[tuple[str, int]]:
    """Start a peer, wait until it answers a query, yield (base URL, pid); stop it after."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_answering(name, base, process, log)
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_answering(name: str, base: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{name} exited: {log.read().decode(errors='replace')}")
        try:
            response = httpx.post(
                f"{base}/graphql", json={"query": "{ viewer { userId } }"}, timeout=2
            )
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer within {READY_SECONDS} s")


def node_ready() -> bool:
    """Whether the Node peer can run: `node` and `npm` present, its packages installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        say("bench/peers.py: node (or npm) is not installed; the Apollo peer is left out")
        return False
    if not (APOLLO / "node_modules").is_dir():
        say("bench/peers.py: installing the Apollo peer's packages (npm ci in bench/peers/apollo)")
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=APOLLO, capture_output=True, text=True
        )
        if done.returncode != 0:
            say(f"bench/peers.py: npm ci failed; the Apollo peer is left out:\n{done.stderr}")
            return False
    return True


def node_version() -> str:
    if shutil.which("node") is None:
        return "absent"
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


@contextmanager
def three_servers(proxies: ProxyThread, moto: str, with_node: bool) -> Iterator[list[Running]]:
    """The servers that start, each behind a recording proxy of its own; one that does not
    start is left out with a line saying why."""
    running: list[Running] = []
    with ExitStack() as stack:
        for name in SERVERS:
            if name == "apollo" and not with_node:
                continue
            proxy = RecordingProxy(moto)
            endpoint = proxies.run(proxy.start())
            stack.callback(lambda proxy=proxy: proxies.run(proxy.stop()))
            try:
                base, pid = stack.enter_context(launch(name, endpoint))
            except (RuntimeError, AssertionError) as error:  # AssertionError: wait_for_health
                say(f"bench/peers.py: {name} did not start and is left out: {error}")
                continue
            say(f"started {name} at {base} (pid {pid}), DynamoDB through {endpoint}")
            running.append(Running(name, base, pid, proxy))
        if not running:
            raise RuntimeError("no server started")
        yield running


def launch(name: str, endpoint: str) -> Any:
    """The context manager that runs `name` against DynamoDB at `endpoint`."""
    if name == "server":
        return api_server(endpoint, naive=False, debug_extensions=False)
    port = free_port()
    if name == "apollo":
        env = {**peer_environment(endpoint), "NODE_ENV": "production"}
        return peer_process(name, ["node", "server.js", str(port)], APOLLO, env, port)
    command = [sys.executable, str(STRAWBERRY), "--port", str(port)]
    return peer_process(name, command, ROOT, peer_environment(endpoint), port)


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Sample:
    latency: float
    cpu: float
    moto_cpu: float
    requests: int
    rounds: int
    read: int
    units: float


@dataclass
class Result:
    profile: str
    operation: str
    projects: int
    server: str
    floor: int  # the full size of the items the answer shows (`bench/reads.py`)
    samples: list[Sample]

    def mean(self, name: str) -> float:
        return statistics.mean(getattr(s, name) for s in self.samples)

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(s.latency for s in self.samples)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(s.latency for s in self.samples)
        return 1000 * ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


async def ask(
    http: httpx.AsyncClient, peer: Running, user: str, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post(
        f"{peer.base}/graphql",
        json={"query": document, "variables": variables},
        headers={"X-Dev-User": user},
    )
    body: dict[str, Any] = response.json()
    if body.get("errors") or "data" not in body:
        raise RuntimeError(f"{peer.name}: {body.get('errors') or body}")
    return body


async def sample(
    http: httpx.AsyncClient,
    peer: Running,
    index: Index,
    user: str,
    document: str,
    variables: dict[str, Any],
    moto_pid: int,
) -> Sample:
    peer.proxy.take()
    moto_before = process_cpu_seconds(moto_pid)
    cpu_before, started = process_cpu_seconds(peer.pid), time.perf_counter()
    await ask(http, peer, user, document, variables)
    latency = time.perf_counter() - started
    cpu = process_cpu_seconds(peer.pid) - cpu_before
    moto_cpu = process_cpu_seconds(moto_pid) - moto_before
    calls = peer.proxy.take()
    cost = read_cost(index, [read for call in calls for read in reads_of(call)])
    return Sample(
        latency=latency,
        cpu=cpu,
        moto_cpu=moto_cpu,
        requests=len(calls),
        rounds=sequential_rounds(calls),
        read=cost.bytes,
        units=cost.units,
    )


def first_difference(ours: Any, theirs: Any, path: str = "data") -> str | None:
    """Where two answers first differ, with both values, or None when they are equal."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(ours.keys() | theirs.keys()):
            found = first_difference(ours.get(key), theirs.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items vs {len(theirs)}"
        for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = first_difference(a, b, f"{path}[{n}]")
            if found:
                return found
        return None
    if ours != theirs:
        return f"{path}: {json.dumps(ours)[:80]} vs {json.dumps(theirs)[:80]}"
    return None


def note(differences: list[str], difference: str) -> None:
    differences.append(difference)
    say(difference)


async def measure_cell(
    http: httpx.AsyncClient,
    servers: list[Running],
    index: Index,
    cell: tuple[str, int, str, str],
    runs: int,
    differences: list[str],
    moto_pid: int,
) -> list[Result]:
    profile, p, user, project_id = cell
    results = []
    for operation, (document, variables) in documents(index, user, project_id).items():
        where = f"{profile} {operation} P={p}"
        answers = {}
        for peer in servers:  # the warm-up, and the answers to compare
            try:
                answers[peer.name] = (await ask(http, peer, user, document, variables))["data"]
            except FAILURES as error:
                note(differences, f"{where}: {peer.name} failed: {str(error)[:300]}")
        if not answers:
            continue
        judge = "server" if "server" in answers else next(iter(answers))
        reference = answers[judge]
        for name, data in answers.items():
            if found := first_difference(reference, data):
                note(differences, f"{where}: {name} differs from {judge} at {found}")
        try:
            shown = floor(index, user, operation, reference)
        except (KeyError, TypeError):  # an answer without the item asked for
            shown = 0
        samples: dict[str, list[Sample]] = {name: [] for name in answers}
        for _ in range(runs):
            for peer in servers:
                if peer.name not in samples:
                    continue
                try:
                    samples[peer.name].append(
                        await sample(http, peer, index, user, document, variables, moto_pid)
                    )
                except FAILURES as error:
                    note(differences, f"{where}: {peer.name} failed: {str(error)[:300]}")
                    del samples[peer.name]  # left out of this operation, not of the run
        for name, taken in samples.items():
            results.append(Result(profile, operation, p, name, shown, taken))
            print(format_row(results[-1]), flush=True)  # noqa: T201
    return results


@dataclass
class Timings:
    """Seconds spent per cell: seeding (with starting moto and the servers) and measuring."""

    seeding: dict[tuple[str, int], float] = field(default_factory=dict)
    measuring: dict[tuple[str, int], float] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(
            f"{profile} P={p} {seeding:.0f} + {self.measuring.get((profile, p), 0):.0f} s"
            for (profile, p), seeding in self.seeding.items()
        )


async def bench(args: argparse.Namespace, timings: Timings) -> tuple[list[Result], list[str]]:
    os.environ["EMBEDDED_DYNAMODB_LATENCY_MS"] = str(args.latency_ms)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    # No background reads inside a measured operation: the server's deployment sweep (a Scan
    # at start, then every minute) and its built-in catalog's refresh (a Scan every 30 s,
    # nothing amortized over many requests) are held off for the run.
    os.environ["DEPLOYMENT_SWEEP_SECONDS"] = "3600"
    os.environ["BUILTIN_CACHE_SECONDS"] = "3600"
    with_node = node_ready()
    results: list[Result] = []
    differences: list[str] = []
    proxies = ProxyThread()
    print(HEADER, flush=True)  # noqa: T201
    try:
        for profile in args.profiles:
            for p in args.projects:
                results += await bench_cell(
                    args, profile, p, proxies, with_node, timings, differences
                )
    finally:
        proxies.close()
    return results, differences


async def bench_cell(
    args: argparse.Namespace,
    profile: str,
    p: int,
    proxies: ProxyThread,
    with_node: bool,
    timings: Timings,
    differences: list[str],
) -> list[Result]:
    """One profile and P on a moto of its own: moto's Query walks every item of the table,
    whoever's partition holds it, so other cells' items would slow the servers' Queries
    (and only theirs: gets are by key), where DynamoDB reads only the partition."""
    started = time.perf_counter()
    user = f"peers-{profile}-{p}"
    embedded = EmbeddedDynamoDB()
    with embedded as moto:
        assert embedded.pid is not None
        settings = Settings(
            store="dynamodb", dynamodb_endpoint_url=moto, table_prefix=PREFIX,
            dynamodb_read_timeout=300,
        )  # fmt: skip
        async with open_store(store_options(settings)) as store:
            await store.create_tables()
            await store.seed_builtin_tools()
            index = Index(store)
            await index.load_catalog()
            project_ids = await PROFILES[profile](store, user, p)
            await index.load(user)
        say(f"seeded {profile} P={p}")
        with three_servers(proxies, moto, with_node) as servers:
            timings.seeding[(profile, p)] = time.perf_counter() - started
            started = time.perf_counter()
            async with httpx.AsyncClient(timeout=900) as http:
                cell = (profile, p, user, project_ids[0])
                results = await measure_cell(
                    http, servers, index, cell, args.runs, differences, embedded.pid
                )
            timings.measuring[(profile, p)] = time.perf_counter() - started
    say(f"measured {profile} P={p} in {timings.measuring[(profile, p)]:.0f} s")
    return results


# -- the report ------------------------------------------------------------------------------

HEADER = (
    "| profile | operation | P | server | requests | rounds | read KB | floor KB | read/floor "
    "| read units | p50 ms | p95 ms | server CPU ms | moto CPU ms |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


METHOD = """\
**server** is `python -m server serve` as shipped; **apollo** is `bench/peers/apollo/server.js`
(Apollo Server 5 + DataLoader in Node: one loader per table per request, BatchGetItem by id in
chunks of 100 in parallel, children by the ids the project item lists, deployments read whole,
built-in tools by name from their table); **strawberry** is
`bench/peers/strawberry_dataloader.py` (strawberry's documented DataLoader pattern, the same
access pattern, aioboto3's resource layer, under uvicorn). Each profile and P gets a moto of its
own (moto's Query walks every item of the table, whoever's partition holds it, so other users'
items would slow the server's Queries where DynamoDB reads only the partition). The three
servers run in their own processes, each through a recording proxy of the benchmark's (about 1.5
ms a round on the 1-project Dashboard), so requests, sequential rounds (a round starts when a
request starts with none in flight) and bytes are counted the same way, on the wire. Bytes and
read units follow `bench/reads.py`'s rules, from the keys each request names: a Query page reads
every item of the partition from its start key on, whole, up to 1 MB; Get and BatchGet read each
named item whole (0.5 unit per 4 KB of each item, a Query's per page total). The floor is the
full size of the items the answer shows (a listed deployment counts 300 bytes). CPU is each
server process's own (all its threads, from /proc, in 10 ms ticks: within about 2 ms per
operation at 5 runs). moto CPU is the embedded DynamoDB's, per operation: moto answers one
request at a time and its work follows the items it walks and serializes (a Query walks the
whole table), not DynamoDB's service time, so latency here is about rounds times (5 ms + the
proxy) plus moto CPU plus server CPU; rounds and bytes carry over to DynamoDB, moto's share of
the latency does not. For the run the server's deployment sweep and built-in catalog refresh
(background Scans) are held off; the peers read the built-in tools from DynamoDB on every
request. Before measuring, each operation's `data` from the peers is compared with the server's."""


def format_row(r: Result) -> str:
    read, shown = r.mean("read"), r.floor
    ratio = read / shown if shown else math.inf
    return (
        f"| {r.profile} | {r.operation} | {r.projects} | {r.server} | {short(r.mean('requests'))} "
        f"| {short(r.mean('rounds'))} | {read / 1024:,.1f} | {shown / 1024:,.1f} | {ratio:,.1f} "
        f"| {r.mean('units'):,.1f} | {r.p50_ms:.0f} | {r.p95_ms:.0f} "
        f"| {1000 * r.mean('cpu'):.0f} | {1000 * r.mean('moto_cpu'):.0f} |"
    )


def short(count: float) -> str:
    """A mean count: `6`, or `2.4` when the runs differed."""
    return f"{count:.1f}".removesuffix(".0")


def standings(results: list[Result]) -> list[str]:
    """For latency, bytes and units read and CPU: in how many cells the server comes first,
    and the cells where a peer does better."""
    cells: dict[tuple[str, str, int], dict[str, Result]] = {}
    for r in results:
        cells.setdefault((r.profile, r.operation, r.projects), {})[r.server] = r
    measures = (
        ("p50 latency", lambda r: r.p50_ms, "ms"),
        ("bytes read", lambda r: r.mean("read") / 1024, "KB"),
        ("read units", lambda r: r.mean("units"), "units"),
        ("server CPU", lambda r: 1000 * r.mean("cpu"), "ms"),
    )
    lines = []
    for label, value, unit in measures:
        compared = [c for c in cells.values() if "server" in c and len(c) > 1]
        behind = []
        for cell in compared:
            ours = value(cell["server"])
            best = min((r for name, r in cell.items() if name != "server"), key=value)
            if round(value(best)) < round(ours):  # as the table shows them: no ties by noise
                r = cell["server"]
                behind.append(
                    f"{r.profile} {r.operation} P={r.projects} ({best.server} "
                    f"{value(best):,.0f} vs {ours:,.0f} {unit})"
                )
        line = f"- {label}: the server first in {len(compared) - len(behind)} of {len(compared)}"
        lines.append(line + (f"; behind in {', '.join(behind)}." if behind else "."))
    return lines


def report(results: list[Result], differences: list[str]) -> str:
    lines = [HEADER, *(format_row(r) for r in results), "", *standings(results)]
    if differences:
        lines += ["", "Answers that differ from the server's (or failed):", ""]
        lines += [f"- {difference}" for difference in differences]
    else:
        lines += ["- Every peer's `data` equals the server's for every operation and cell."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_arguments(parser)
    args = parsed_sizes(parser)
    started = time.perf_counter()
    timings = Timings()
    results, differences = asyncio.run(bench(args, timings))
    total = time.perf_counter() - started
    text = report(results, differences)
    print("\n" + "\n".join(standings(results)), flush=True)  # noqa: T201
    took = f"{total:.0f} s in all (per cell, seeding and starting + measuring: {timings})"
    say(took)
    if args.write:
        append_section(
            args.write,
            "Side by side with Apollo + DataLoader and strawberry's DataLoader pattern",
            f"Node {node_version()}; {args.latency_ms} ms added to every DynamoDB request; "
            f"{args.runs} runs per server and cell after a warm-up, interleaved, "
            f"concurrency 1; {took}.",
            f"{METHOD}\n\n{text}",
        )


if __name__ == "__main__":
    main()
