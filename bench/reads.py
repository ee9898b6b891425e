"""What reads cost at realistic item sizes: bytes DynamoDB reads per operation, against a floor.

Usage: python bench/reads.py [--latency-ms 5] [--projects 1,10,50,200] [--runs 5]
                             [--profiles small,realistic] [--write BENCHMARKS.md]

Seeds one user per profile and P, each on an embedded DynamoDB of its own (moto,
`--latency-ms` before every request), and runs each operation `--runs` times (after a
warm-up, concurrency 1) against `python -m server serve` in its own process, with
`DEBUG_EXTENSIONS` on. The response's `extensions.dynamodb.reads` names what each DynamoDB
call read; moto does not bill by size, so
the bytes are computed here from the seeded items with `server.store.codec.item_size`:
- a Query page reads every item of the user's partition from its start key on, filtered out
  or not and whole even under a `ProjectionExpression`, until 1 MB (DynamoDB's page);
- GetItem and BatchGetItem read each named item whole.
The floor is the full size of the items the answer shows (a deployment listed without its
config and logs counts as a 300-byte summary, one asked for by id as its whole item, the only
one keyed by its id; the built-in catalog, which the server caches in its process, is left
out). Read units are eventually consistent, as the server reads these
(0.5 per 4 KB, rounded up, of each item for gets and of each Query page's total); a read made
strongly consistent counts double.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dashboard import (  # noqa: E402
    PREFIX,
    PROJECT,
    api_server,
    process_cpu_seconds,
)
from bench.dashboard import seed as seed_small  # noqa: E402
from bench.report import append_section, parsed_sizes, size_arguments  # noqa: E402
from bench.seeding import REALISTIC, seed_projects  # noqa: E402
from server.models import (  # noqa: E402
    main_config_id,
)
from server.settings import Settings  # noqa: E402
from server.store import Store, open_store  # noqa: E402
from server.store.codec import item_size  # noqa: E402
from server.store.dynamo import Expression  # noqa: E402
from server.store.embedded import EmbeddedDynamoDB  # noqa: E402
from server.store.tables import TABLES  # noqa: E402
from server.wiring import store_options  # noqa: E402
from tests.documents import DASHBOARD  # noqa: E402

AGENT = """
query Agent($id: ID!) {
  agent(id: $id) { id name tools { id name } builtinTools { name category } }
}
"""
DEPLOYMENT = """
query Deployment($id: ID!) {
  deployment(id: $id) { id status project { id name } }
}
"""
PAGE_BYTES = 1024 * 1024  # a Query page stops once it has read 1 MB
UNIT_BYTES = 4096  # one read unit: 4 KB strongly consistent, twice that eventually
SUMMARY_BYTES = 300  # a deployment shown in a listing, in the floor


# -- seeding ---------------------------------------------------------------------------------


async def seed_realistic(store: Store, user: str, projects: int) -> list[str]:
    """Per project: 5 tools of 8 KB of code, 5 agents and a main config with ~3.5 KB system
    prompts, 3 env vars and 5 deployments holding the project's full snapshot and logs."""
    return await seed_projects(store, user, projects, REALISTIC)


PROFILES: dict[str, Callable[[Store, str, int], Any]] = {
    "small": seed_small,
    "realistic": seed_realistic,
}


# -- what DynamoDB holds, and what a read of it costs ------------------------------------------


@dataclass
class Partition:
    """A user's items of one table in key order, with their sizes."""

    keys: list[str]
    sizes: list[int]
    items: list[dict[str, Any]]


class Index:
    """The seeded items, read back from the store, by table and key."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sort_keys = {store.tables.of(spec): spec.sort_key for spec in TABLES}
        self.partitions: dict[tuple[str, str], Partition] = {}
        self.sizes: dict[tuple[str, str, str], int] = {}

    async def load(self, user: str) -> None:
        for table, sort_key in self.sort_keys.items():
            if sort_key is None:
                continue
            items = [
                item
                async for item in self.store.dynamo.query(
                    table, Expression("userId = :u", values={":u": user})
                )
            ]
            items.sort(key=lambda item: item[sort_key])
            sizes = [item_size(item) for item in items]
            keys = [item[sort_key] for item in items]
            self.partitions[(table, user)] = Partition(keys, sizes, items)
            for key, size in zip(keys, sizes, strict=True):
                self.sizes[(table, user, key)] = size

    async def load_catalog(self) -> None:
        table = self.store.tables.builtin_tools
        async for item in self.store.dynamo.scan(table):
            self.sizes[(table, "", item["toolName"])] = item_size(item)

    def item(self, table: str, key: dict[str, Any]) -> int:
        """The size of the item at `key` (0 when there is none)."""
        user = key.get("userId", "")
        sort_key = self.sort_keys.get(table)
        value = key[sort_key] if sort_key else key.get("toolName", "")
        return self.sizes.get((table, user, value), 0)

    def children(self, table: str, user: str, project_id: str) -> list[int]:
        partition = self.partitions[(table, user)]
        return [
            size
            for size, item in zip(partition.sizes, partition.items, strict=True)
            if item.get("projectId") == project_id
        ]


@dataclass
class Cost:
    bytes: int = 0
    units: float = 0.0
    by_table: dict[str, int] | None = None


def read_cost(index: Index, reads: list[dict[str, Any]]) -> Cost:
    """The bytes and read units of the DynamoDB calls an operation made."""
    cost = Cost(by_table=defaultdict(int))
    assert cost.by_table is not None
    for read in reads:
        table = read.get("table")
        if table is None:
            continue
        factor = 2 if read.get("consistent") else 1
        if read["operation"] == "Query":
            page = query_page(index, table, read)
            cost.bytes += page
            cost.units += factor * 0.5 * math.ceil(page / UNIT_BYTES)
            cost.by_table[table] += page
        elif read["operation"] in ("GetItem", "BatchGetItem"):
            for key in read["keys"]:
                size = index.item(table, key)
                cost.bytes += size
                # A read of an item that is not there still costs half a unit.
                cost.units += factor * 0.5 * max(1, math.ceil(size / UNIT_BYTES))
                cost.by_table[table] += size
    return cost


def query_page(index: Index, table: str, read: dict[str, Any]) -> int:
    """The bytes one Query request reads: from its start key on, whole items, up to 1 MB."""
    (user,) = read["key"].values()
    partition = index.partitions.get((table, user))
    if partition is None:
        return 0
    position = 0
    if read.get("start"):
        sort_key = index.sort_keys[table]
        after = read["start"][sort_key]
        first = next((n for n, key in enumerate(partition.keys) if key > after), None)
        if first is None:
            return 0
        position = first
    total = 0
    for size in partition.sizes[position:]:
        total += size
        if total >= PAGE_BYTES:
            break
    return total


# -- the floor: what the answer shows ---------------------------------------------------------


def floor(index: Index, user: str, operation: str, data: dict[str, Any]) -> int:
    tables = index.store.tables
    if operation in ("Dashboard", "project(id)"):
        projects = data["projects"] if operation == "Dashboard" else [data["project"]]
        total = 0
        for project in projects:
            pid = project["id"]
            total += index.item(tables.projects, {"userId": user, "projectId": pid})
            total += sum(
                index.item(tables.agents, {"userId": user, "agentId": a["id"]})
                for a in project["agents"]
            )
            tool_ids = {t["id"] for t in project["tools"]}
            tool_ids |= {t["id"] for a in project["agents"] for t in a["tools"]}
            total += sum(index.item(tables.tools, {"userId": user, "toolId": t}) for t in tool_ids)
            if project["mainConfig"] is not None:
                total += index.item(
                    tables.main_config, {"userId": user, "configId": main_config_id(pid)}
                )
            if project["envVars"]:
                total += sum(index.children(tables.environment, user, pid))
            shown = {d["id"] for d in project["deployments"]}
            if project["latestDeployment"]:
                shown.add(project["latestDeployment"]["id"])
            total += SUMMARY_BYTES * len(shown)
        return total
    if operation == "agent(id)":
        agent = data["agent"]
        return index.item(tables.agents, {"userId": user, "agentId": agent["id"]}) + sum(
            index.item(tables.tools, {"userId": user, "toolId": t["id"]}) for t in agent["tools"]
        )
    # A deployment asked for by id is shown from its own item, the only one its id keys.
    deployment = data["deployment"]
    project = {"userId": user, "projectId": deployment["project"]["id"]}
    key = {"userId": user, "deploymentId": deployment["id"]}
    return index.item(tables.deployments, key) + index.item(tables.projects, project)


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    profile: str
    operation: str
    projects: int
    requests: float
    rounds: float
    read: int
    floor: int
    units: float
    by_table: dict[str, int]
    p50_ms: float
    p95_ms: float
    cpu_ms: float

    @property
    def ratio(self) -> float:
        return self.read / self.floor if self.floor else math.inf


async def run_operation(
    http: httpx.AsyncClient,
    server_pid: int,
    index: Index,
    user: str,
    profile: str,
    operation: str,
    projects: int,
    document: str,
    variables: dict[str, Any],
    runs: int,
) -> Result:
    async def once() -> dict[str, Any]:
        response = await http.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"X-Dev-User": user},
        )
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body

    await once()  # warm-up: the catalog cache, connections
    latencies, cpu, costs, tallies, floors = [], [], [], [], []
    for _ in range(runs):
        cpu_before, started = process_cpu_seconds(server_pid), time.perf_counter()
        body = await once()
        latencies.append(time.perf_counter() - started)
        cpu.append(process_cpu_seconds(server_pid) - cpu_before)
        tally = body["extensions"]["dynamodb"]
        tallies.append(tally)
        costs.append(read_cost(index, tally["reads"]))
        floors.append(floor(index, user, operation, body["data"]))
    ordered = sorted(latencies)
    names = {table: table.removeprefix(PREFIX) for table in index.sort_keys}
    by_table: dict[str, int] = defaultdict(int)
    for cost in costs:
        for table, size in (cost.by_table or {}).items():
            by_table[names.get(table, table)] += size // runs
    return Result(
        profile=profile,
        operation=operation,
        projects=projects,
        requests=statistics.mean(t["requests"] for t in tallies),
        rounds=statistics.mean(t["rounds"] for t in tallies),
        read=round(statistics.mean(c.bytes for c in costs)),
        floor=round(statistics.mean(floors)),
        units=statistics.mean(c.units for c in costs),
        by_table=dict(by_table),
        p50_ms=1000 * statistics.median(ordered),
        p95_ms=1000 * ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)],
        cpu_ms=1000 * statistics.mean(cpu),
    )


async def bench(args: argparse.Namespace) -> list[Result]:
    os.environ["EMBEDDED_DYNAMODB_LATENCY_MS"] = str(args.latency_ms)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    results: list[Result] = []
    print(HEADER, flush=True)  # noqa: T201
    for profile in args.profiles:
        for p in args.projects:
            for result in await bench_cell(args, profile, p):
                results.append(result)
                print(format_row(result), flush=True)  # noqa: T201
    return results


async def bench_cell(args: argparse.Namespace, profile: str, p: int) -> list[Result]:
    """One profile at one P, on a DynamoDB of its own: moto's Query walks every item of the
    table, not only the user's partition, so other cells' items would slow this one's."""
    results: list[Result] = []
    with EmbeddedDynamoDB() as endpoint:
        settings = Settings(
            store="dynamodb",
            dynamodb_endpoint_url=endpoint,
            table_prefix=PREFIX,
            dynamodb_read_timeout=300,
        )
        async with open_store(store_options(settings)) as store:
            await store.create_tables()
            await store.seed_builtin_tools()
            index = Index(store)
            await index.load_catalog()
            user = f"reads-{profile}-{p}"
            project_ids = await PROFILES[profile](store, user, p)
            await index.load(user)
            with api_server(endpoint, naive=False) as (base, pid):
                async with httpx.AsyncClient(base_url=base, timeout=900) as http:
                    operations = documents(index, user, project_ids[0])
                    for operation, (document, variables) in operations.items():
                        results.append(
                            await run_operation(
                                http, pid, index, user, profile, operation, p, document,
                                variables, args.runs,
                            )
                        )  # fmt: skip
    return results


def documents(index: Index, user: str, project_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The operations, with an agent and the newest deployment of the user's first project."""
    tables = index.store.tables
    agents = index.partitions[(tables.agents, user)].items
    agent = next(a for a in agents if a["projectId"] == project_id)
    deployments = index.partitions[(tables.deployments, user)].items
    newest = max(d["deploymentId"] for d in deployments if d["projectId"] == project_id)
    return {
        "Dashboard": (DASHBOARD, {}),
        "project(id)": (PROJECT, {"id": project_id}),
        "agent(id)": (AGENT, {"id": agent["agentId"]}),
        "deployment(id)": (DEPLOYMENT, {"id": newest}),
    }


# -- the report ------------------------------------------------------------------------------

HEADER = (
    "| profile | operation | P | requests | rounds | read KB | floor KB | read/floor | read units "
    "| p50 ms | p95 ms | server CPU ms | read by table (KB) |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def format_row(r: Result) -> str:
    tables = ", ".join(
        f"{table} {size / 1024:,.0f}"
        for table, size in sorted(r.by_table.items(), key=lambda kv: -kv[1])
        if size
    )
    return (
        f"| {r.profile} | {r.operation} | {r.projects} | {r.requests:.0f} | {r.rounds:.0f} "
        f"| {r.read / 1024:,.1f} | {r.floor / 1024:,.1f} | {r.ratio:,.1f} | {r.units:,.1f} "
        f"| {r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.cpu_ms:.1f} | {tables} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_arguments(parser)
    args = parsed_sizes(parser)
    started = time.perf_counter()
    results = asyncio.run(bench(args))
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # noqa: T201
    if args.write:
        append_section(
            args.write,
            "Bytes read per operation at realistic sizes",
            f"{args.latency_ms} ms added to every DynamoDB request; {args.runs} runs per cell "
            "after a warm-up, concurrency 1.",
            HEADER + "\n" + "\n".join(format_row(r) for r in results),
        )


if __name__ == "__main__":
    main()
