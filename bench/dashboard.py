"""The Dashboard and project(id) queries, in three modes, against a DynamoDB with latency.

Usage: python bench/dashboard.py [--latency-ms 5] [--projects 1,10,50] [--ops 40]
                                 [--write BENCHMARKS.md]

Modes, all in one run on one embedded DynamoDB (a moto server whose every request waits
`--latency-ms` first, as a network would):
- server: `python -m server serve` as shipped (loaders, look-ahead, catalog cache);
- naive:  the same server with BENCH_NAIVE_LOADERS=true (every field loads its own rows);
- raw:    this process making the requests the server makes with aioboto3, shaping the
          answer and `json.dumps`-ing it: what the work costs without GraphQL.
Server CPU is the API process's own CPU time (from /proc), so moto's work in its own process
is left out; the raw baseline's CPU is this process's.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import append_section  # noqa: E402
from bench.seeding import SMALL, seed_projects  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import Store, open_store  # noqa: E402
from server.store.dynamo import Expression  # noqa: E402
from server.store.embedded import EmbeddedDynamoDB  # noqa: E402
from server.store.instrument import track  # noqa: E402
from server.wiring import store_options  # noqa: E402
from tests.documents import DASHBOARD, DASHBOARD_PROJECT_FIELDS  # noqa: E402
from tests.servers import free_port, wait_for_health  # noqa: E402

PROJECT = f"""
query Project($id: ID!) {{ project(id: $id) {{ {DASHBOARD_PROJECT_FIELDS} }} }}
"""
PREFIX = "bench-"


# -- seeding ---------------------------------------------------------------------------------


async def seed(store: Store, user: str, projects: int) -> list[str]:
    """`projects` projects of 5 agents, 5 tools, a main config, 5 env vars, 10 deployments."""
    return await seed_projects(store, user, projects, SMALL)


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    query: str
    projects: int
    concurrency: int
    ops: int
    requests: float
    rounds: float
    p50_ms: float
    p95_ms: float
    ops_per_s: float
    cpu_ms: float
    moto_cpu_ms: float


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    run_once: Callable[[], Awaitable[tuple[int, int]]],
    *,
    ops: int,
    concurrency: int,
    cpu: Callable[[], float],
    moto_cpu: Callable[[], float],
) -> tuple[list[float], list[tuple[int, int]], float, float, float]:
    """Latencies (s), (requests, rounds) per op, wall seconds, and the CPU seconds of the
    measured process and of moto, for `ops` runs."""
    latencies: list[float] = []
    counts: list[tuple[int, int]] = []
    queue = iter(range(ops))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            counts.append(await run_once())
            latencies.append(time.perf_counter() - started)

    cpu_before, moto_before, wall_before = cpu(), moto_cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - wall_before
    return latencies, counts, wall, cpu() - cpu_before, moto_cpu() - moto_before


def summarize(mode: str, query: str, projects: int, concurrency: int, sample: Any) -> Result:
    latencies, counts, wall, cpu, moto_cpu = sample
    ordered = sorted(latencies)
    return Result(
        mode=mode,
        query=query,
        projects=projects,
        concurrency=concurrency,
        ops=len(latencies),
        requests=statistics.mean(c[0] for c in counts),
        rounds=statistics.mean(c[1] for c in counts),
        p50_ms=1000 * statistics.median(ordered),
        p95_ms=1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        ops_per_s=len(latencies) / wall,
        cpu_ms=1000 * cpu / len(latencies),
        moto_cpu_ms=1000 * moto_cpu / len(latencies),
    )


@contextmanager
def api_server(
    endpoint: str, *, naive: bool, debug_extensions: bool = True
) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "STORE": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": endpoint,
        "TABLE_PREFIX": PREFIX,
        "DEBUG_EXTENSIONS": "true" if debug_extensions else "false",
        "BENCH_NAIVE_LOADERS": "true" if naive else "false",
        # moto serves one request at a time: at 16 concurrent operations the queue is long.
        "DYNAMODB_READ_TIMEOUT": "300",
        "OPERATION_TIMEOUT_SECONDS": "300",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "--log-level", "warning", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, process)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def graphql_runner(
    http: httpx.AsyncClient, query: str, variables: Callable[[], dict[str, Any]], user: str
) -> Callable[[], Awaitable[tuple[int, int]]]:
    async def run() -> tuple[int, int]:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables()},
            headers={"X-Dev-User": user},
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        tally = body["extensions"]["dynamodb"]
        return tally["requests"], tally["rounds"]

    return run


def raw_runner(
    store: Store, user: str, project_id: str | None, catalog: dict[str, Any]
) -> Callable[[], Awaitable[tuple[int, int]]]:
    """The server's requests for the query, straight from aioboto3, shaped and dumped: for
    the Dashboard the projects with the first page of each child table (the rest by id), for
    project(id) the project, then its children by the ids it lists; deployments from the
    summary on the project item."""
    dynamo, tables = store.dynamo, store.tables
    by_user = Expression("userId = :u", values={":u": user})
    children = {
        "agents": (tables.agents, "agentId", "agentIds"),
        "tools": (tables.tools, "toolId", "toolIds"),
        "env": (tables.environment, "envId", "envIds"),
        "main": (tables.main_config, "configId", "mainAgentConfig"),
    }

    async def first_page(table: str) -> tuple[list[dict[str, Any]], bool]:
        where = Expression("attribute_exists(projectId)")
        items, more = await dynamo.query_first_page(table, by_user, where=where)
        return items, not more

    def listed(project: dict[str, Any], attribute: str) -> list[str]:
        ids = project.get(attribute) or []
        return [ids] if isinstance(ids, str) else list(ids)

    async def by_id(
        projects: list[dict[str, Any]], pages: dict[str, tuple[list[dict[str, Any]], bool]]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Every listed child, by kind and id: from the first pages, the rest read by id."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        reads = {}
        for kind, (table, key, attribute) in children.items():
            items, complete = pages.get(kind, ([], False))
            found[kind] = {item[key]: item for item in items}
            missing = [
                {"userId": user, key: child}
                for project in projects
                for child in listed(project, attribute)
                if child not in found[kind] and not complete
            ]
            if missing:
                reads[kind] = dynamo.batch_get(table, missing)
        for kind, items in zip(reads, await asyncio.gather(*reads.values()), strict=True):
            key = children[kind][1]
            found[kind].update({item[key]: item for item in items})
        return found

    async def run() -> tuple[int, int]:
        with track() as tally:
            if project_id:
                project = await dynamo.get_item(
                    tables.projects, {"userId": user, "projectId": project_id}
                )
                projects = [project] if project else []
                found = await by_id(projects, {})
            else:
                projects, *pages = await asyncio.gather(
                    rows_all(tables.projects),
                    *(first_page(table) for table, _, _ in children.values()),
                )
                found = await by_id(projects, dict(zip(children, pages, strict=True)))
        answer = [shape(project, found) for project in projects]
        json.dumps({"data": {"viewer": {"userId": user}, "projects": answer}})
        return tally.requests, tally.rounds

    def shape(project: dict[str, Any], found: dict[str, dict[str, dict[str, Any]]]) -> Any:
        def of(kind: str) -> list[dict[str, Any]]:
            attribute = children[kind][2]
            return [found[kind][i] for i in listed(project, attribute) if i in found[kind]]

        tools = of("tools")
        tools_by_name = {t["name"]: t for t in tools}
        recent = project.get("recentDeployments") or []
        mains = of("main")
        main = mains[0]["config"] if mains else None
        return {
            "id": project["projectId"],
            "name": project["name"],
            "description": project["description"],
            "updatedAt": project["updatedAt"],
            "agents": [
                {
                    "id": a["agentId"],
                    "name": a["name"],
                    "model": {"modelId": a["config"]["model"]["model_id"]},
                    "tools": [
                        {"id": tools_by_name[n]["toolId"], "name": n}
                        for n in a["config"]["tools"]
                        if n in tools_by_name
                    ],
                    "builtinTools": [
                        {"name": n, "category": catalog[n]["category"]}
                        for n in a["config"]["builtin_tools"]
                        if n in catalog
                    ],
                }
                for a in of("agents")
            ],
            "tools": [
                {"id": t["toolId"], "name": t["name"], "type": t["config"]["type"].upper()}
                for t in tools
            ],
            "mainConfig": main
            and {"name": main["name"], "model": {"modelId": main["model"]["model_id"]}},
            "envVars": [
                {
                    "key": v["key"],
                    "value": None if v.get("secret") else v["value"],
                    "secret": bool(v.get("secret")),
                }
                for v in sorted(of("env"), key=lambda v: v["key"])
            ],
            "deployments": [
                {
                    "id": d["deploymentId"],
                    "status": d["status"].upper(),
                    "createdAt": d["createdAt"],
                }
                for d in recent[:5]
            ],
            "latestDeployment": recent
            and {"id": recent[0]["deploymentId"], "status": recent[0]["status"].upper()},
        }

    async def rows_all(table: str) -> list[dict[str, Any]]:
        return [i async for i in dynamo.query(table, by_user)]

    return run


# -- the run -------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> list[Result]:
    os.environ["EMBEDDED_DYNAMODB_LATENCY_MS"] = str(args.latency_ms)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    results: list[Result] = []
    embedded = EmbeddedDynamoDB()
    with embedded as endpoint:
        assert embedded.pid is not None
        moto_cpu = lambda: process_cpu_seconds(embedded.pid)  # noqa: E731
        settings = Settings(
            store="dynamodb",
            dynamodb_endpoint_url=endpoint,
            table_prefix=PREFIX,
            dynamodb_read_timeout=300,
        )
        async with open_store(store_options(settings)) as store:
            await store.create_tables()
            await store.seed_builtin_tools()
            catalog = {t.tool_name: t.model_dump() for t in await store.builtin_tools.list_all()}
            users = {p: f"bench-{p}-projects" for p in args.projects}
            first_project = {p: (await seed(store, users[p], p))[0] for p in args.projects}
            for mode in ("server", "naive"):
                with api_server(endpoint, naive=mode == "naive") as (base, pid):
                    async with httpx.AsyncClient(
                        base_url=base, timeout=900, limits=httpx.Limits(max_connections=32)
                    ) as http:
                        for p in args.projects:
                            for name, query, variables in (
                                ("Dashboard", DASHBOARD, lambda: {}),
                                ("project(id)", PROJECT, lambda p=p: {"id": first_project[p]}),
                            ):
                                run = graphql_runner(http, query, variables, users[p])
                                await run()  # warm-up: caches, connections
                                for concurrency in (1, 16):
                                    # Naive mode at 50 projects makes ~1,800 requests an
                                    # operation; 16 at once queue ~29,000 requests on the
                                    # one-at-a-time moto until the client's connections time
                                    # out, so that cell is not run.
                                    slow = mode == "naive" and p >= 50
                                    if slow and concurrency > 1:
                                        continue
                                    ops = max(2 if slow else args.ops, concurrency)
                                    sample = await measure(
                                        run,
                                        ops=ops,
                                        concurrency=concurrency,
                                        cpu=functools.partial(process_cpu_seconds, pid),
                                        moto_cpu=moto_cpu,
                                    )
                                    results.append(summarize(mode, name, p, concurrency, sample))
                                    print(format_row(results[-1]), flush=True)  # noqa: T201
            for p in args.projects:
                for name, project_id in (("Dashboard", None), ("project(id)", first_project[p])):
                    run = raw_runner(store, users[p], project_id, catalog)
                    await run()
                    for concurrency in (1, 16):
                        sample = await measure(
                            run,
                            ops=max(args.ops, concurrency),
                            concurrency=concurrency,
                            cpu=time.process_time,
                            moto_cpu=moto_cpu,
                        )
                        results.append(summarize("raw", name, p, concurrency, sample))
                        print(format_row(results[-1]), flush=True)  # noqa: T201
    return results


HEADER = (
    "| mode | query | P | conc. | DynamoDB req/op | rounds/op | p50 ms | p95 ms | ops/s "
    "| server CPU ms/op | moto CPU ms/op |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def format_row(r: Result) -> str:
    return (
        f"| {r.mode} | {r.query} | {r.projects} | {r.concurrency} | {r.requests:.1f} "
        f"| {r.rounds:.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.ops_per_s:.1f} | {r.cpu_ms:.2f} "
        f"| {r.moto_cpu_ms:.1f} |"
    )


def report(results: list[Result], args: argparse.Namespace) -> str:
    def find(mode: str, query: str, p: int, c: int) -> Result | None:
        return next(
            (
                r
                for r in results
                if (r.mode, r.query, r.projects, r.concurrency) == (mode, query, p, c)
            ),
            None,
        )

    lines = [HEADER, *(format_row(r) for r in results), ""]
    largest, middle = max(args.projects), sorted(args.projects)[len(args.projects) // 2]
    server, naive = find("server", "Dashboard", largest, 1), find("naive", "Dashboard", largest, 1)
    if server and naive:
        lines.append(
            f"- Dashboard latency at P={largest}, concurrency 1: naive/server = "
            f"{naive.p50_ms / server.p50_ms:.1f}x (p50)."
        )
        lines.append(
            f"- Server CPU per Dashboard at P={largest}: naive {naive.cpu_ms:.0f} ms vs server "
            f"{server.cpu_ms:.0f} ms = {naive.cpu_ms / server.cpu_ms:.1f}x (the latency ratio "
            "on a DynamoDB that serves requests in parallel, where the naive mode's "
            f"{naive.requests:,.0f} requests cost it CPU and a few rounds, not time in a queue)."
        )
    server, raw = find("server", "Dashboard", middle, 1), find("raw", "Dashboard", middle, 1)
    if server and raw:
        lines.append(
            f"- Server CPU per Dashboard at P={middle}: {server.cpu_ms:.2f} ms vs raw "
            f"{raw.cpu_ms:.2f} ms = {server.cpu_ms / raw.cpu_ms:.1f}x."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--projects", default="1,10,50")
    parser.add_argument("--ops", type=int, default=40)
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    args.projects = [int(p) for p in args.projects.split(",")]
    results = asyncio.run(bench(args))
    text = report(results, args)
    print(text)  # noqa: T201
    if args.write:
        append_section(
            args.write,
            "Dashboard and project(id)",
            f"{args.latency_ms} ms added to every DynamoDB request.",
            text,
        )


if __name__ == "__main__":
    main()
