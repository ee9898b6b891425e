"""The Deployments table: `userId` + `deploymentId` (a ULID, so newest sorts last).

At most one deployment per project is PENDING or DEPLOYING: the project item's
`activeDeploymentId` is claimed in the transaction that creates a deployment and released in
the one that finishes it. So the unfinished ones are found through the Projects table (the
sweep), never by a Scan of this one, whose items are the largest of all.

A project keeps its newest `DEPLOYMENTS_PER_PROJECT` deployments: the transaction that
creates one also deletes the oldest past that bound and drops them from `deploymentIds`, so the
list stays exact and bounded. Only finished deployments are deleted: while the project's slot
is free (as creating requires) none of its deployments is active.

The project item also summarizes its newest `RECENT_DEPLOYMENTS` deployments
(`recentDeployments`: id, status, version, dates, error), written in the transaction of every
create and status change, so that listings of them read no item of this table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from server import quotas
from server.errors import NotFound, ProjectBusy
from server.models import Deployment, DeploymentStatus, DeploymentSummary, Project
from server.models.project import newest_ids, recent_deployments
from server.store.child_tables import LIVE_PROJECT, ChildTable, ProjectLists, at_version
from server.store.codec import Item
from server.store.dynamo import BATCH_GET_LIMIT, Dynamo
from server.store.expressions import Attr, Condition, Update, all_of
from server.store.transactions import LostRace, TransactItem, delete, gone_or_lost, update

__all__ = ["LEASE_ATTRIBUTES", "MAX_PRUNED_PER_CREATE", "SUMMARY_ATTRIBUTES", "DeploymentStore"]

# The project's slot for its one active (PENDING or DEPLOYING) deployment.
SLOT = Attr("activeDeploymentId")
# What a listing reads when the query selects neither `config` nor `logs`.
SUMMARY_ATTRIBUTES = (
    "userId",
    "deploymentId",
    "projectId",
    "status",
    "error",
    "version",
    "createdAt",
    "updatedAt",
)
# What the sweep and a take-over read to tell an abandoned deployment from a live one.
LEASE_ATTRIBUTES = (*SUMMARY_ATTRIBUTES, "leaseExpiresAt")
# The most deployments one create deletes past the retention bound (each is an item of its
# transaction, which DynamoDB limits to 100).
MAX_PRUNED_PER_CREATE = 10


class DeploymentStore(ChildTable[Deployment]):
    sort_key = "deploymentId"
    model = Deployment

    def __init__(self, dynamo: Dynamo, table: str, *, lists: ProjectLists) -> None:
        super().__init__(dynamo, table)
        self._lists = lists

    async def create(self, deployment: Deployment, project: Project) -> list[str]:
        """Write a PENDING deployment, claim the project's one active slot for it, and delete
        the oldest deployments past `DEPLOYMENTS_PER_PROJECT`, all in one transaction;
        returns the ids deleted.

        `project` is the project as just read (consistently): `LostRace` when its
        `deploymentIds` changed since, so that neither that list nor `recentDeployments` is
        ever written from a stale read.
        """
        pruned = _past_retention(project.deployment_ids)
        ids = [
            *(id_ for id_ in project.deployment_ids if id_ not in pruned),
            deployment.deployment_id,
        ]
        recent = await self._recent_after(deployment, project, ids)
        # In the order their errors take precedence: the project's, a pruned one's, the new one's.
        await self.dynamo.transact(
            [
                self._claim(deployment, project.deployment_ids, ids, recent),
                *(self._prune(deployment, pruned_id) for pruned_id in pruned),
                self.insert(
                    deployment.to_item(),
                    otherwise=RuntimeError("a new deployment's id collided with a stored one"),
                ),
            ]
        )
        return pruned

    async def _recent_after(
        self, deployment: Deployment, project: Project, ids: list[str]
    ) -> list[DeploymentSummary] | None:
        """The project's `recentDeployments` once `deployment` is created and `ids` is its
        `deploymentIds`: the new one, then the newest others from the summary as read, or, for
        those it does not hold (no summary, or one not to be trusted), from their items read
        by id, consistently; so a project without a summary gets one with its next deployment.

        While the project's slot is free (as creating requires) none of its deployments can
        change status but one left active by another program, without the slot: None when
        the summary would hold such a one (or an id without its item), and none is kept."""
        known = {s.deployment_id: s for s in project.trusted_recent_deployments() or []}
        known[deployment.deployment_id] = DeploymentSummary.of(deployment)
        unknown = [id_ for id_ in newest_ids(ids) if id_ not in known]
        if unknown:
            read = await self.summaries(
                [(deployment.user_id, id_) for id_ in unknown], consistent=True
            )
            known |= {d.deployment_id: DeploymentSummary.of(d) for d in read}
        recent = recent_deployments(ids, known)
        if recent is None or any(entry.status.is_active for entry in recent[1:]):
            return None
        return recent

    def _claim(
        self,
        deployment: Deployment,
        read: list[str],
        ids: list[str],
        recent: list[DeploymentSummary] | None,
    ) -> TransactItem:
        """The project's update: the active slot, `deploymentIds` written as `ids` and
        `recentDeployments` as `recent` (removed when None), on condition that the slot is free
        and `deploymentIds` is `read`, the list these were made from.

        The whole list is written: DynamoDB refuses an update whose SET and REMOVE overlap
        (`deploymentIds` and `deploymentIds[0]`)."""
        listed, summary = Attr("deploymentIds"), Attr("recentDeployments")
        assignments = Update().set(SLOT, deployment.deployment_id).set(listed, ids)
        if recent is not None:
            assignments = assignments.set(summary, [entry.to_item() for entry in recent])
        else:
            assignments = assignments.remove(summary)
        unchanged = listed.eq(read) if read else listed.not_exists() | listed.eq(read)
        return update(
            self._lists.table,
            self._lists.key(deployment.user_id, deployment.project_id),
            assignments,
            condition=LIVE_PROJECT & SLOT.not_exists() & unchanged,
            otherwise=lambda project: _unclaimable(project, deployment.project_id),
        )

    def _prune(self, deployment: Deployment, pruned_id: str) -> TransactItem:
        """Delete a deployment past the retention bound, as `deployment` is created, if it is
        finished: else it is active without the project's slot, which makes the project busy.
        An id whose item is missing (a list written by other programs) is dropped from the list
        all the same: deleting it deletes nothing, and requiring it would block the project for
        good."""
        return delete(
            self.table,
            self.key(deployment.user_id, pruned_id),
            condition=Attr("deploymentId").not_exists()
            | Attr("status").is_in(DeploymentStatus.SUCCESS.value, DeploymentStatus.FAILED.value),
            otherwise=ProjectBusy(deployment.project_id, pruned_id),
        )

    async def change(self, old: Deployment, new: Deployment, project: Project | None) -> None:
        """Write `new`'s status, error, logs and lease if `old` is still current, and its
        project's side of it (`_mirror`) in the same transaction; `project` as just read
        (consistently). `LostRace` when either changed since it was read."""
        assignments = (
            Update()
            .set(Attr("status"), new.status.value)
            .set(Attr("logs"), new.logs or [])
            .set(Attr("updatedAt"), new.updated_at)
            .set(Attr("version"), new.version)
        )
        if new.error is not None:  # the seed's `error` is a string, absent until there is one
            assignments = assignments.set(Attr("error"), new.error)
        lease = Attr("leaseExpiresAt")
        if new.lease_expires_at is not None:
            assignments = assignments.set(lease, new.lease_expires_at)
        else:  # only a DEPLOYING deployment holds a lease
            assignments = assignments.remove(lease)
        items: list[TransactItem] = [
            update(
                self.table,
                self.key(old.user_id, old.deployment_id),
                assignments,
                condition=Attr("deploymentId").exists() & at_version(old.version),
                otherwise=gone_or_lost(NotFound("deployment", old.deployment_id)),
            )
        ]
        if project is not None and (mirrored := self._mirror(project, new)) is not None:
            items.append(mirrored)
        await self.dynamo.transact(items)

    def _mirror(self, project: Project, new: Deployment) -> TransactItem | None:
        """The project's update for a change of its deployment to `new`: the deployment's
        entry of `recentDeployments` rewritten, on condition that it is still at the index read
        (or, should the summary have no entry for it, the summary removed: readers then read
        the deployments, never a status that is not theirs); and a finished deployment frees
        the active slot it holds. None when the project has neither to change."""
        assignments = Update()
        conditions: list[Condition] = []
        if project.recent_deployments is not None:
            listed = [entry.deployment_id for entry in project.recent_deployments]
            summary = Attr("recentDeployments")
            if new.deployment_id in listed:
                entry = summary[listed.index(new.deployment_id)]
                assignments = assignments.set(entry, DeploymentSummary.of(new).to_item())
                conditions.append(entry["deploymentId"].eq(new.deployment_id))
            else:
                assignments = assignments.remove(summary)
                conditions.append(Attr("projectId").exists())  # never makes a new item
        if not new.status.is_active and project.active_deployment_id == new.deployment_id:
            assignments = assignments.remove(SLOT)
            conditions.append(SLOT.eq(new.deployment_id))
        if not conditions:
            return None
        return update(
            self._lists.table,
            self._lists.key(project.user_id, project.project_id),
            assignments,
            condition=all_of(*conditions),
            otherwise=LostRace(),
        )

    async def summaries(
        self, keys: Sequence[tuple[str, str]], *, consistent: bool = False
    ) -> list[Deployment]:
        """The deployments at (user_id, deployment_id) `keys`, with their lease but without
        config and logs, in no particular order (absent ones left out): BatchGetItem, which
        DynamoDB bills by each whole item read all the same."""
        items = await self.dynamo.batch_get(
            self.table,
            [self.key(*key) for key in keys],
            consistent=consistent,
            attributes=LEASE_ATTRIBUTES,
        )
        return [self.parse(item) for item in items]

    async def newest(
        self, histories: Sequence[tuple[str, list[str], int | None]]
    ) -> list[list[Deployment]]:
        """For each (user_id, deployment_ids oldest first, count): the newest `count` (None:
        all) of those deployments, newest first, as summaries, read by id with BatchGetItem
        (chunks of 100 in parallel) rather than a Query of the whole partition. An id with no
        item (stale) is skipped and the next older one read in its place."""
        found: list[list[Deployment]] = [[] for _ in histories]
        unread = [ids[::-1] for _, ids, _ in histories]
        while True:
            wanted: list[tuple[int, str, str]] = []  # (index in histories, user_id, id)
            for index, (user_id, _, count) in enumerate(histories):
                missing = len(unread[index]) if count is None else count - len(found[index])
                take, unread[index] = unread[index][:missing], unread[index][missing:]
                wanted += [(index, user_id, deployment_id) for deployment_id in take]
            if not wanted:
                return found
            read = await self._summaries_by_id([(user, id_) for _, user, id_ in wanted])
            for index, user_id, deployment_id in wanted:
                if (deployment := read.get((user_id, deployment_id))) is not None:
                    found[index].append(deployment)

    async def _summaries_by_id(
        self, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], Deployment]:
        """The summaries of the deployments at `keys` that exist, by key."""
        chunks = [
            keys[start : start + BATCH_GET_LIMIT] for start in range(0, len(keys), BATCH_GET_LIMIT)
        ]
        pages = await asyncio.gather(
            *(
                self.dynamo.batch_get(
                    self.table, [self.key(*key) for key in chunk], attributes=SUMMARY_ATTRIBUTES
                )
                for chunk in chunks
            )
        )
        deployments = (self.parse(item) for page in pages for item in page)
        return {(d.user_id, d.deployment_id): d for d in deployments}


def _past_retention(deployment_ids: list[str]) -> list[str]:
    """The oldest ids to delete so that, with one more, the project keeps at most
    `DEPLOYMENTS_PER_PROJECT`: one at the bound; at most `MAX_PRUNED_PER_CREATE` from a list
    already over it (a project from before retention), which so shrinks by
    `MAX_PRUNED_PER_CREATE - 1` with every create until it is within the bound."""
    excess = len(deployment_ids) + 1 - quotas.DEPLOYMENTS_PER_PROJECT
    oldest = deployment_ids[: min(max(excess, 0), MAX_PRUNED_PER_CREATE)]
    return list(dict.fromkeys(oldest))  # a transaction may write an item only once


def _unclaimable(project: Item | None, project_id: str) -> Exception:
    """Why a new deployment could not claim the project (as it was, None if absent)."""
    if project is None or "deleting" in project:
        return NotFound("project", project_id)
    if "activeDeploymentId" in project:
        return ProjectBusy(project_id, project["activeDeploymentId"])
    return LostRace()  # another create changed deploymentIds since it was read
