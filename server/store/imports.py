"""Writing an imported project with all its children, all or nothing.

A project whose items fit one `TransactWriteItems` (100 items, 4 MB) is written in one: the
tool-name reservations first (their error, a name taken, takes precedence), the project item
with its lists, every child, the checks that its agents' built-in tools are still active,
and the account's usage item.

A bigger one is written in steps, hidden until the last:

1. the project item, marked `deleting` (so it reads as gone and lists nowhere) with its lists
   already full, and the account's usage in the same transaction: a quota refuses here, with
   nothing written;
2. the name reservations, in name order, then the children, in transactions that fit;
3. the commit: the mark removed (on condition that it is still this import's), with the
   built-in checks.

If a step fails (or the operation is cancelled), the cascade delete (`server.store.cascade`)
removes what was written, the name reservations included, and the error is raised. A process
killed between 1 and 3 leaves the marked project, which `deleteProject` with its id (logged
at step 1) removes.

Reservations are taken in name order, so of imports racing for the same names one wins: each
one's first taken name stops the others that need it, before they can hold any name after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.errors import NameClash, NotFound
from server.models import Agent, EnvVar, MainConfig, Project, Tool
from server.store import cascade
from server.store.child_tables import ChildTable
from server.store.codec import item_size
from server.store.expressions import Attr, Update
from server.store.transactions import LostRace, TransactItem, check, put, update
from server.store.usage import Changes

if TYPE_CHECKING:
    from server.store import Store

__all__ = ["MAX_TRANSACTION_BYTES", "MAX_TRANSACTION_ITEMS", "ProjectTree", "write_project_tree"]

logger = logging.getLogger(__name__)

# DynamoDB's bounds on one TransactWriteItems: 100 items, 4 MB of them. Sizes are counted as
# DynamoDB counts items (`item_size`) plus room for each request's keys and expressions.
MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4_000_000
REQUEST_OVERHEAD = 512
# Clean-ups under way, held until they finish (the event loop keeps only weak references).
_CLEANING: set[asyncio.Future[None]] = set()


@dataclass(frozen=True)
class ProjectTree:
    """A new project and everything it holds, ids assigned: `project`'s lists name the
    children, and each tool's `used_by` the agents that list it."""

    project: Project
    main_config: MainConfig | None
    agents: Sequence[Agent]
    tools: Sequence[Tool]
    env_vars: Sequence[EnvVar]
    # The built-in tools its agents use, to check again as they are written.
    builtin_names: Sequence[str]

    def usage(self) -> Changes:
        changes = {
            "projects": 1,
            "agents": len(self.agents),
            "tools": len(self.tools),
            "envVars": len(self.env_vars),
        }
        return {counter: by for counter, by in changes.items() if by}


@dataclass(frozen=True)
class _Sized:
    item: TransactItem
    size: int


class _Taken(Exception):
    """A name reservation failed: the names are read again to say which are taken."""


async def write_project_tree(store: Store, tree: ProjectTree, *, now: str) -> None:
    """Write `tree` whole or not at all. `NameClash` with every taken name; `QuotaExceeded`;
    `LostRace` if a built-in tool was deactivated meanwhile (read again and retry)."""
    reservations = _reservations(store, tree)
    children = _children(store, tree)
    checks = _builtin_checks(store, tree.builtin_names)
    project = _sized(
        put(
            store.tables.projects,
            tree.project.to_item(),
            condition=Attr("projectId").not_exists(),
        ),
        tree.project.to_item(),
    )
    whole = [*reservations, project, *children, *checks]
    try:
        if _fits(whole, more=1):  # and the usage item
            await store.usage.transact(
                tree.project.user_id, [sized.item for sized in whole], tree.usage()
            )
            return
        await _in_steps(store, tree, reservations, children, checks, now=now)
    except _Taken:
        raise await _clash(store, tree) from None


async def _in_steps(
    store: Store,
    tree: ProjectTree,
    reservations: list[_Sized],
    children: list[_Sized],
    checks: list[_Sized],
    *,
    now: str,
) -> None:
    user_id, project_id = tree.project.user_id, tree.project.project_id
    hidden = tree.project.model_copy(update={"deleting": now})
    first = put(store.tables.projects, hidden.to_item(), condition=Attr("projectId").not_exists())
    await store.usage.transact(user_id, [first], tree.usage())
    logger.info("importing project %s in steps (hidden until written whole)", project_id)
    try:
        for chunk in _chunks([*reservations, *children]):
            await store.dynamo.transact(chunk)
        commit = update(
            store.tables.projects,
            {"userId": user_id, "projectId": project_id},
            Update().remove(Attr("deleting")),
            condition=Attr("deleting").eq(now),
            otherwise=NotFound("project", project_id),
        )
        # The built-in tools were checked before writing; the commit checks them again, as
        # many as fit beside it (an agent names at most 32).
        rechecks = [sized.item for sized in checks[: MAX_TRANSACTION_ITEMS - 1]]
        await store.dynamo.transact([commit, *rechecks])
    except BaseException:
        # Cancelled too (the operation's time limit): the clean-up runs on in a task of its
        # own, which the cancellation does not reach.
        cleaning = asyncio.ensure_future(_clean_up(store, user_id, project_id, now=now))
        _CLEANING.add(cleaning)
        cleaning.add_done_callback(_CLEANING.discard)
        await asyncio.shield(cleaning)
        raise


async def _clean_up(store: Store, user_id: str, project_id: str, *, now: str) -> None:
    try:
        await cascade.delete_project(store, user_id, project_id, now=now)
    except Exception:
        logger.exception(
            "an import failed and so did its clean-up: deleteProject %s removes what it wrote",
            project_id,
        )


async def _clash(store: Store, tree: ProjectTree) -> NameClash:
    names = [tool.name for tool in tree.tools]
    taken = await store.tools.taken_names(tree.project.user_id, names)
    # A name taken and freed again in between is still the reason this import failed.
    return NameClash(taken or names)


def _sized(item: TransactItem, plain: dict[str, object]) -> _Sized:
    return _Sized(item, item_size(plain) + REQUEST_OVERHEAD)


def _reservations(store: Store, tree: ProjectTree) -> list[_Sized]:
    """The name reservations, in name order (see the module's docstring)."""
    tools = sorted(tree.tools, key=lambda tool: tool.name)
    return [
        _Sized(store.tools.reserve(tool, otherwise=_Taken()), REQUEST_OVERHEAD) for tool in tools
    ]


def _children(store: Store, tree: ProjectTree) -> list[_Sized]:
    """A Put of each child, on condition that its new id is free."""
    tools = []
    for tool in tree.tools:
        item = tool.to_item()
        if tool.used_by:
            item["usedBy"] = set(tool.used_by)
        tools.append(item)
    tables: list[tuple[ChildTable[Any], list[dict[str, Any]]]] = [
        (store.tools, tools),
        (store.agents, [agent.to_item() for agent in tree.agents]),
        (store.main_configs, [c.to_item() for c in [tree.main_config] if c is not None]),
        (store.env_vars, [variable.to_item() for variable in tree.env_vars]),
    ]
    return [
        _sized(table.insert(item, otherwise=LostRace()), item)
        for table, items in tables
        for item in items
    ]


def _builtin_checks(store: Store, names: Sequence[str]) -> list[_Sized]:
    return [
        _Sized(
            check(
                store.tables.builtin_tools,
                {"toolName": name},
                Attr("isActive").eq(True),
                otherwise=LostRace(),
            ),
            REQUEST_OVERHEAD,
        )
        for name in names
    ]


def _fits(items: Sequence[_Sized], *, more: int = 0) -> bool:
    """Whether `items`, and `more` small ones, fit one transaction."""
    return (
        len(items) + more <= MAX_TRANSACTION_ITEMS
        and sum(sized.size for sized in items) + more * REQUEST_OVERHEAD <= MAX_TRANSACTION_BYTES
    )


def _chunks(items: Sequence[_Sized]) -> Iterator[list[TransactItem]]:
    """`items` in order, in transactions that fit."""
    chunk: list[_Sized] = []
    for sized in items:
        if chunk and not _fits([*chunk, sized]):
            yield [each.item for each in chunk]
            chunk = []
        chunk.append(sized)
    if chunk:
        yield [each.item for each in chunk]
