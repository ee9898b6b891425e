"""What one sweep reads, as DynamoDB bills it, before and after it found deployments through
the Projects table.

Usage: python bench/sweep.py [--users 50] [--projects 10] [--deployments 5] [--active 2]
                             [--min-kb 50] [--max-kb 100]

Writes a realistic account set into an embedded DynamoDB (a moto server): `--users` users,
each with `--projects` projects of `--deployments` deployments whose configuration snapshots
are `--min-kb` to `--max-kb` KB; `--active` of the projects, spread over the users, have their
newest deployment PENDING or DEPLOYING (a live lease, so neither sweep writes anything); the
others are SUCCESS. Then it runs:

- before: the sweep's read before this change (`DeploymentStore.unfinished`, removed since):
  one Scan of the Deployments table, filtered to PENDING and DEPLOYING, projecting summaries;
- after:  `Sweeper.sweep()` as shipped: a Scan of the Projects table filtered to the projects
  holding an `activeDeploymentId`, then BatchGetItem of those deployments.

Every request is recorded (operation, table, keys) with a botocore hook, and billed the way
DynamoDB bills reads: a Scan reads every item of the table whole, whatever its filter and
projection ("the size of the items read", summed, then rounded up to 4 KB per request); a
BatchGetItem or GetItem reads each item named whole, each rounded up to 4 KB. Sizes are
`server.store.codec.item_size` of the items as written. Read units are for eventually
consistent reads (half a unit per 4 KB), as both sweeps make them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.deployments.notices import DeploymentNotices  # noqa: E402
from server.deployments.sweeper import Sweeper  # noqa: E402
from server.models import Deployment, DeploymentStatus, Project, iso_time  # noqa: E402
from server.models.deployment import lease_until  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import Store, open_store  # noqa: E402
from server.store.codec import from_item, item_size  # noqa: E402
from server.store.deployments import LEASE_ATTRIBUTES  # noqa: E402
from server.store.dynamo import Expression  # noqa: E402
from server.store.embedded import EmbeddedDynamoDB  # noqa: E402
from server.wiring import store_options  # noqa: E402

PREFIX = "bench-sweep-"
BLOCK = 4096  # a read unit reads up to 4 KB (half a unit when eventually consistent)
WRITE_CHUNK = 10  # items per BatchWriteItem: ~1 MB bodies at 100 KB an item
TABLE_KEYS = {"projects": ("userId", "projectId"), "deployments": ("userId", "deploymentId")}


@dataclass
class Bill:
    """The reads one sweep made, billed."""

    requests: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    bytes_read: int = 0
    read_units: float = 0.0

    def add(self, sizes: list[int], *, per_item: bool) -> None:
        self.items_read += len(sizes)
        self.bytes_read += sum(sizes)
        if per_item:
            self.read_units += sum(math.ceil(size / BLOCK) for size in sizes) / 2
        else:
            self.read_units += math.ceil(sum(sizes) / BLOCK) / 2


class Meter:
    """Bills every read request of the client while `metering()` is open."""

    def __init__(self, store: Store, sizes: dict[str, dict[tuple[str, str], int]]) -> None:
        self._sizes = sizes  # by table name, item key → item size
        self._names = {store.tables.projects: "projects", store.tables.deployments: "deployments"}
        self._bill: Bill | None = None
        store.client.meta.events.register("before-parameter-build.dynamodb", self._request)

    @contextmanager
    def metering(self) -> Iterator[Bill]:
        self._bill = Bill()
        try:
            yield self._bill
        finally:
            self._bill = None

    def _request(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        bill = self._bill
        if bill is None:
            return
        operation = model.name
        if operation == "Scan":
            table = params["TableName"]
            bill.requests[f"Scan {self._names.get(table, table)}"] += 1
            if "ExclusiveStartKey" not in params:  # pages of one Scan read the table once
                bill.add(list(self._sizes[table].values()), per_item=False)
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                bill.requests[f"BatchGetItem {self._names.get(table, table)}"] += 1
                bill.add(self._each(table, request["Keys"]), per_item=True)
        elif operation == "GetItem":
            table = params["TableName"]
            bill.requests[f"GetItem {self._names.get(table, table)}"] += 1
            bill.add(self._each(table, [params["Key"]]), per_item=True)
        else:
            bill.requests[operation] += 1

    def _each(self, table: str, keys: list[dict[str, Any]]) -> list[int]:
        if table not in self._names:
            return []
        names = TABLE_KEYS[self._names[table]]
        found = (self._sizes[table].get(_key(from_item(key), names)) for key in keys)
        return [size for size in found if size is not None]


def _key(item: dict[str, Any], names: tuple[str, str]) -> tuple[str, str]:
    return item[names[0]], item[names[1]]


# -- the data ------------------------------------------------------------------------------


def snapshot(rng: random.Random, project_id: str, size: int) -> dict[str, Any]:
    """A configuration snapshot of about `size` bytes: ten agents with long prompts, five
    tools with code, a main config and a few variables, as `createDeployment` writes it."""
    text = lambda n: "".join(rng.choices("abcdefghij klmnopqrst", k=n))  # noqa: E731
    share = size // 16
    return {
        "project": {"id": project_id, "name": "bench", "description": "a benchmark project"},
        "mainConfig": {"name": "main", "model": {"modelId": "claude"}, "prompt": text(share)},
        "agents": [
            {"id": f"a{i}", "name": f"agent-{i}", "systemPrompt": text(share), "tools": ["t0"]}
            for i in range(10)
        ],
        "tools": [
            {"id": f"t{i}", "name": f"tool-{i}", "type": "code", "code": text(share)}
            for i in range(5)
        ],
        "env": [{"key": f"VAR_{i}", "value": "value", "secret": False} for i in range(5)],
    }


def dataset(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(project items, deployment items) for the whole set."""
    rng = random.Random(10)
    now = datetime.now(UTC)
    stamp = iso_time(now)
    projects: list[dict[str, Any]] = []
    deployments: list[dict[str, Any]] = []
    serial = 0
    step = max(1, args.users * args.projects // max(1, args.active))
    active_left = args.active
    for user in range(args.users):
        user_id = f"bench-user-{user:03d}"
        for project in range(args.projects):
            project_id = f"01BENCHPROJECT{user:03d}{project:03d}"
            ids: list[str] = []
            active: str | None = None
            is_active = (user * args.projects + project) % step == 0 and active_left > 0
            active_left -= is_active
            for number in range(args.deployments):
                serial += 1
                deployment_id = f"01BENCHDEPLOY{serial:06d}"
                ids.append(deployment_id)
                last = number == args.deployments - 1
                status = DeploymentStatus.SUCCESS
                if last and is_active:
                    status = (
                        DeploymentStatus.DEPLOYING if active_left % 2 else DeploymentStatus.PENDING
                    )
                    active = deployment_id
                size = rng.randint(args.min_kb * 1000, args.max_kb * 1000)
                deployments.append(
                    Deployment(
                        user_id=user_id,
                        deployment_id=deployment_id,
                        project_id=project_id,
                        status=status,
                        config=snapshot(rng, project_id, size),
                        logs=[f"{stamp} step {line}: done" for line in range(30)],
                        created_at=stamp,
                        updated_at=stamp,
                        lease_expires_at=(
                            lease_until(now, 3600) if status is DeploymentStatus.DEPLOYING else None
                        ),
                    ).to_item()
                )
            projects.append(
                Project(
                    user_id=user_id,
                    project_id=project_id,
                    name=f"project {project}",
                    description="a project of the sweep benchmark",
                    agent_ids=[f"01BENCHAGENT{project:03d}{i:02d}" for i in range(10)],
                    tool_ids=[f"01BENCHTOOL{project:03d}{i:02d}" for i in range(5)],
                    main_agent_config=f"main#{project_id}",
                    env_ids=[f"01BENCHENV{project:03d}{i:02d}" for i in range(5)],
                    deployment_ids=ids,
                    active_deployment_id=active,
                    created_at=stamp,
                    updated_at=stamp,
                ).to_item()
            )
    return projects, deployments


async def write(store: Store, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), WRITE_CHUNK):
        await store.dynamo.batch_write(table, puts=items[start : start + WRITE_CHUNK])


# -- the two sweeps ------------------------------------------------------------------------


async def sweep_before(store: Store) -> int:
    """The read of the sweep before this change: the whole Deployments table, Scanned."""
    items = store.dynamo.scan(
        store.tables.deployments,
        where=Expression(
            "#status IN (:pending, :deploying)",
            {"#status": "status"},
            {":pending": "pending", ":deploying": "deploying"},
        ),
        attributes=LEASE_ATTRIBUTES,
    )
    return len([item async for item in items])


async def sweep_after(store: Store) -> int:
    resumed: list[tuple[str, str]] = []
    await Sweeper(store, DeploymentNotices(), resume=lambda *key: resumed.append(key)).sweep()
    return len(resumed)


def row(name: str, bill: Bill, seconds: float, interval: float) -> str:
    per_day = 86_400 / interval
    requests = ", ".join(f"{n} {what}" for what, n in sorted(bill.requests.items()))
    return (
        f"| {name} | {requests} | {bill.items_read:,} | {bill.bytes_read / 1e6:,.2f} MB"
        f" | {bill.read_units:,.1f} | {bill.bytes_read * per_day / 1e9:,.1f} GB"
        f" | {bill.read_units * per_day / 1e6:,.2f} M | {seconds * 1000:,.0f} ms |"
    )


async def bench(args: argparse.Namespace) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    projects, deployments = dataset(args)
    with EmbeddedDynamoDB() as endpoint:
        settings = Settings(
            store="dynamodb",
            dynamodb_endpoint_url=endpoint,
            table_prefix=PREFIX,
            dynamodb_read_timeout=300,
        )
        async with open_store(store_options(settings)) as store:
            await store.create_tables()
            started = time.perf_counter()
            await write(store, store.tables.projects, projects)
            await write(store, store.tables.deployments, deployments)
            took = time.perf_counter() - started
            print(f"wrote the set in {took:.0f} s", file=sys.stderr)  # noqa: T201
            sizes = {
                store.tables.projects: {
                    _key(item, TABLE_KEYS["projects"]): item_size(item) for item in projects
                },
                store.tables.deployments: {
                    _key(item, TABLE_KEYS["deployments"]): item_size(item) for item in deployments
                },
            }
            meter = Meter(store, sizes)
            results = []
            for name, sweep in (("before", sweep_before), ("after", sweep_after)):
                with meter.metering() as bill:
                    started = time.perf_counter()
                    found = await sweep(store)
                    results.append((name, bill, time.perf_counter() - started, found))
    deployment_bytes = sum(sizes[store.tables.deployments].values())
    project_bytes = sum(sizes[store.tables.projects].values())
    lines = [
        f"{args.users} users x {args.projects} projects x {args.deployments} deployments"
        f" ({args.min_kb}-{args.max_kb} KB snapshots), {args.active} active:"
        f" Deployments {len(deployments):,} items, {deployment_bytes / 1e6:,.1f} MB;"
        f" Projects {len(projects):,} items, {project_bytes / 1e6:,.2f} MB."
        f" Per day: one instance sweeping every {args.interval:g} s.",
        "",
        "| sweep | requests | items read | bytes read | read units | bytes read per day"
        " | read units per day | time on moto |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(row(name, bill, seconds, args.interval) for name, bill, seconds, _ in results),
    ]
    print("\n".join(lines))  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--projects", type=int, default=10, help="per user")
    parser.add_argument("--deployments", type=int, default=5, help="per project")
    parser.add_argument("--active", type=int, default=2, help="PENDING or DEPLOYING, in all")
    parser.add_argument("--min-kb", type=int, default=50)
    parser.add_argument("--max-kb", type=int, default=100)
    parser.add_argument("--interval", type=float, default=20.0, help="seconds between sweeps")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
