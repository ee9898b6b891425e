"""The Projects table: `userId` (partition) + `projectId` (sort)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from server.errors import Conflict, NotFound
from server.models import Project
from server.store.child_tables import LIVE_PROJECT, at_version, settle
from server.store.codec import Item
from server.store.dynamo import ConditionFailed, Dynamo
from server.store.expressions import Attr, Condition, Update, all_of, if_not_exists, user_partition
from server.store.transactions import delete, gone_or_lost, put
from server.store.usage import COUNTED_LISTS, Usage

__all__ = ["DeploymentKey", "ProjectKey", "ProjectStore", "SweepTargets"]

ProjectKey = tuple[str, str]  # (user_id, project_id)
DeploymentKey = tuple[str, str]  # (user_id, deployment_id)


@dataclass
class SweepTargets:
    active: list[DeploymentKey] = field(default_factory=list)
    # Projects marked `deleting` (by a cascade or a stepped import), with their mark's time.
    marked: list[tuple[ProjectKey, str]] = field(default_factory=list)


# The project's one active deployment, claimed and released with it (`store/deployments.py`).
ACTIVE = "activeDeploymentId"
# A project being deleted is already gone for its user: it only waits for its cascade.
DELETING = Attr("deleting")


class ProjectStore:
    def __init__(self, dynamo: Dynamo, table: str, *, usage: Usage) -> None:
        self._dynamo = dynamo
        self._table = table
        self._usage = usage

    async def list_for_user(self, user_id: str) -> list[Project]:
        """The user's projects, oldest first."""
        items = self._dynamo.query(
            self._table, user_partition(user_id), where=DELETING.not_exists()
        )
        projects = [_project(item) async for item in items]
        projects.sort(key=lambda project: (project.created_at, project.project_id))
        return projects

    async def get(
        self, user_id: str, project_id: str, *, consistent: bool = False
    ) -> Project | None:
        item = await self._dynamo.get_item(
            self._table, {"userId": user_id, "projectId": project_id}, consistent=consistent
        )
        return _project(item) if item is not None and "deleting" not in item else None

    async def get_many(self, keys: Sequence[ProjectKey]) -> list[Project | None]:
        """One value per key, in key order; None where there is no such project."""
        items = await self._dynamo.batch_get(
            self._table, [{"userId": user, "projectId": project} for user, project in keys]
        )
        found = {
            (item["userId"], item["projectId"]): _project(item)
            for item in items
            if "deleting" not in item
        }
        return [found.get(key) for key in keys]

    async def sweep_targets(self) -> SweepTargets:
        """What a sweep looks at, from one Scan of the Projects table, whose items are small
        (read whole, as DynamoDB bills every Scan, but sent back only for the projects that
        match): the active deployment of every live project holding one, and every project
        marked `deleting`, with the time of its mark."""
        items = self._dynamo.scan(
            self._table,
            where=Attr(ACTIVE).exists() | DELETING.exists(),
            attributes=("userId", "projectId", ACTIVE, "deleting"),
        )
        targets = SweepTargets()
        async for item in items:
            if "deleting" in item:
                targets.marked.append(((item["userId"], item["projectId"]), item["deleting"]))
            else:
                targets.active.append((item["userId"], item[ACTIVE]))
        return targets

    async def create(self, project: Project) -> None:
        """Write the project and count it in its account; `QuotaExceeded` if the account holds
        as many projects as it may."""
        write = put(self._table, project.to_item(), condition=Attr("projectId").not_exists())
        await self._usage.transact(project.user_id, [write], {"projects": 1})

    async def update(
        self,
        user_id: str,
        project_id: str,
        changes: dict[str, str],
        *,
        now: str,
        expected_version: int | None = None,
    ) -> Project:
        """Set `changes`, bump `version` and `updatedAt`, all only if `expected_version` holds."""
        version = Attr("version")
        update = Update().set(Attr("updatedAt"), now).set(version, if_not_exists(version, 1) + 1)
        for attribute, value in changes.items():
            update = update.set(Attr(attribute), value)
        condition = _exists_at(expected_version)
        try:
            item = await self._dynamo.update_item(
                self._table,
                {"userId": user_id, "projectId": project_id},
                update,
                condition=condition,
            )
        except ConditionFailed as failure:
            raise _why(failure.item, project_id, expected_version) from None
        return _project(item)

    async def mark_deleting(self, user_id: str, project_id: str, *, now: str) -> None:
        """Begin a cascade: from now on no child can be added and the project reads as gone.

        A project already marked stays marked, so a cascade that stopped part-way can resume.
        """
        try:
            await self._dynamo.update_item(
                self._table,
                {"userId": user_id, "projectId": project_id},
                Update().set(DELETING, if_not_exists(DELETING, now)),
                condition=Attr("projectId").exists(),
            )
        except ConditionFailed:
            raise NotFound("project", project_id) from None

    async def delete_marked(self, user_id: str, project_id: str) -> None:
        """End a cascade: delete the project item, which must have been marked, and take it
        and the children its lists still count out of the account's usage.

        `NotFound` if it is gone already (another cascade of it finished first).
        """
        key = {"userId": user_id, "projectId": project_id}

        async def attempt() -> None:
            item = await self._dynamo.get_item(self._table, key, consistent=True)
            if item is None:
                raise NotFound("project", project_id)
            lengths = {attribute: len(item.get(attribute) or []) for attribute in COUNTED_LISTS}
            # A marked project's lists only shrink (a child deleted at the same moment): the
            # delete holds only while they are as long as the usage change assumes.
            write = delete(
                self._table,
                key,
                condition=all_of(DELETING.exists(), *_lengths_are(lengths)),
                otherwise=gone_or_lost(NotFound("project", project_id)),
            )
            changes = {"projects": -1}
            changes.update({COUNTED_LISTS[a].counter: -n for a, n in lengths.items() if n})
            await self._usage.transact(user_id, [write], changes)

        await settle(attempt)


def _lengths_are(lengths: dict[str, int]) -> list[Condition]:
    """Each list of `lengths` holds exactly that many ids (none: absent or empty)."""
    conditions = []
    for attribute, length in lengths.items():
        ids = Attr(attribute)
        held = ids.size().eq(length)
        conditions.append(ids.not_exists() | held if length == 0 else ids.exists() & held)
    return conditions


def _project(item: Item) -> Project:
    return Project.model_validate(item)


def _exists_at(expected_version: int | None) -> Condition:
    """The project is live and, when a version is expected, is at that version."""
    if expected_version is None:
        return LIVE_PROJECT
    return LIVE_PROJECT & at_version(expected_version)


def _why(item: Item | None, project_id: str, expected_version: int | None) -> Exception:
    if item is None or "deleting" in item:
        return NotFound("project", project_id)
    assert expected_version is not None  # only a version check fails on an existing item
    return Conflict.stale_version("project", project_id, item.get("version", 1), expected_version)
