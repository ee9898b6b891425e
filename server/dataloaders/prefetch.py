"""Look-ahead: load the children of the user's projects in the same round as the projects.

All seven tables are partitioned by `userId` alone, so the children of a user's projects can
be queried before the projects are known: the first page of each child table (one request,
at most 1 MB read) is started at the same moment as the projects' own Query. What those pages
hold primes the by-id loaders; a project all of whose listed children were on them is primed
whole, so its nested fields resolve without another request. When a table's part of the
partition goes on past its first page, the children not on it are read by id in one more
round (`listed_by_project`), never by paging through the partition: so a small account takes
one round, a large one two, and every item read beyond the first pages is one the answer shows.

`project(id)` does not look ahead: its children are read by id, so it reads the same whatever
the size of the account. Nor are deployments looked ahead: their listings come from the
project items' `recentDeployments` (`Loaders.newest_deployments`), so no Query reads their
large items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

from strawberry.dataloader import DataLoader

from server.builtin_catalog import BuiltinCatalog
from server.dataloaders import ItemKey, Loaders
from server.dataloaders.listed import children_of
from server.models import MainConfig, Project, main_config_id
from server.store import Store

__all__ = ["Children", "prefetch"]


@dataclass(frozen=True, kw_only=True)
class Children:
    """Which children of its projects an operation will read."""

    agents: bool = False
    tools: bool = False
    main_configs: bool = False
    env_vars: bool = False
    builtin_tools: bool = False

    @property
    def any(self) -> bool:
        return any(vars(self).values())

    def __or__(self, other: Children) -> Children:
        """The children either reads."""
        mine, theirs = vars(self), vars(other)
        return Children(**{name: mine[name] or theirs[name] for name in mine})


class Child(Protocol):
    @property
    def project_id(self) -> str: ...


ChildT = TypeVar("ChildT", bound=Child)
Page = tuple[list[Any], bool]  # the items on a first page, and whether it held them all


@dataclass(frozen=True)
class Listed(Generic[ChildT]):
    """A kind of child a project item lists by id, and the loaders that hold it."""

    by_id: DataLoader[tuple[str, str], ChildT | None]
    by_project: DataLoader[tuple[str, str], list[ChildT]]
    ids_of: Callable[[Project], Sequence[str]]
    id_of: Callable[[ChildT], str]

    def prime(self, user_id: str, projects: Sequence[Project], page: Page) -> None:
        """Prime each item of `page` by id, and each project whose listed children are all
        known (on the page, or absent from a page that held the whole partition); start
        reading the others by id at once, so that every table's second round starts together
        rather than when the fields that need them are reached."""
        items, complete = page
        found: dict[str, ChildT] = {self.id_of(item): item for item in items}
        self.by_id.prime_many({(user_id, item_id): item for item_id, item in found.items()})
        for project in projects:
            ids = self.ids_of(project)
            missing = [child_id for child_id in ids if child_id not in found]
            if complete or not missing:
                children = children_of(project.project_id, ids, found.get)
                self.by_project.prime((user_id, project.project_id), children)
            else:
                for child_id in missing:  # awaited by `by_project` when the field is reached
                    self.by_id.load((user_id, child_id))


async def prefetch(
    *,
    projects: Awaitable[list[Project]],
    wanted: Children,
    user_id: str,
    store: Store,
    loaders: Loaders,
    catalog: BuiltinCatalog,
    naive: bool = False,
) -> list[Project]:
    """Await `projects` (`user_id`'s) while the first pages of the `wanted` children tables
    are read in parallel; then prime `loaders` with what those pages held. `naive` loaders
    (the benchmark's) are not primed."""
    if naive or not wanted.any:
        return await projects
    reads: dict[str, Awaitable[Any]] = {}

    def read(name: str, start: Callable[[], Awaitable[Any]]) -> None:
        # Aliases of `projects` share one read of each table.
        reads[name] = loaders.read_once((name, user_id), start)

    if wanted.agents:
        read("agents", lambda: store.agents.first_page(user_id))
    if wanted.tools:
        read("tools", lambda: store.tools.first_page(user_id))
    if wanted.env_vars:
        read("env_vars", lambda: store.env_vars.first_page(user_id))
    if wanted.main_configs:
        read("main_configs", lambda: store.main_configs.first_page(user_id))
    if wanted.builtin_tools:
        reads["builtin_tools"] = catalog.all()
    found_projects, *results = await asyncio.gather(projects, *reads.values())
    found = dict(zip(reads, results, strict=True))
    listed: dict[str, Listed[Any]] = {
        "agents": Listed(
            loaders.agent_by_id,
            loaders.agents_by_project,
            attrgetter("agent_ids"),
            attrgetter("agent_id"),
        ),
        "tools": Listed(
            loaders.tool_by_id,
            loaders.tools_by_project,
            attrgetter("tool_ids"),
            attrgetter("tool_id"),
        ),
        "env_vars": Listed(
            loaders.env_var_by_id,
            loaders.env_vars_by_project,
            attrgetter("env_ids"),
            attrgetter("env_id"),
        ),
    }
    for name, kind in listed.items():
        if name in found:
            kind.prime(user_id, found_projects, found[name])
    if "main_configs" in found:
        _prime_main_configs(loaders.main_config_by_id, found_projects, found["main_configs"])
    if "builtin_tools" in found:
        by_name = {tool.tool_name: tool for tool in found["builtin_tools"]}
        loaders.builtin_tool_by_name.prime_many(by_name)
    return list(found_projects)


def _prime_main_configs(
    loader: DataLoader[ItemKey, MainConfig | None], projects: Sequence[Project], page: Page
) -> None:
    """Prime each project's main config found on `page`; and, when the page held the whole
    partition, the absence of the others."""
    configs: list[MainConfig]
    configs, complete = page
    by_project = {config.project_id: config for config in configs}
    for project in projects:
        config = by_project.get(project.project_id)
        key = (project.user_id, main_config_id(project.project_id))
        if config is not None or complete:
            loader.prime(key, config)
        elif project.main_agent_config is not None:
            loader.load(key)  # read by id now, with the other tables' second round
