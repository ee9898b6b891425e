"""When a project's `recentDeployments` is believed, and what it answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from server.models import DeploymentStatus, DeploymentSummary, Project
from server.models.project import recent_deployments

STAMP = "2026-01-01T00:00:00.000Z"


def summary(
    deployment_id: str, status: DeploymentStatus = DeploymentStatus.FAILED
) -> DeploymentSummary:
    return DeploymentSummary(
        deployment_id=deployment_id, status=status, created_at=STAMP, updated_at=STAMP
    )


def project(ids: list[str], summarized: list[str] | None) -> Project:
    """A project whose `deploymentIds` is `ids` (oldest first) and whose summary lists the
    deployments `summarized` (None: no summary)."""
    return Project(
        user_id="u",
        project_id="p",
        name="Summarized",
        deployment_ids=ids,
        recent_deployments=None if summarized is None else [summary(i) for i in summarized],
        created_at=STAMP,
        updated_at=STAMP,
    )


IDS = [f"d{n:02d}" for n in range(12)]  # oldest first


def test_a_summary_of_exactly_the_newest_ten_newest_first_is_trusted() -> None:
    trusted = project(IDS, IDS[:1:-1]).trusted_recent_deployments()

    assert trusted is not None
    assert [entry.deployment_id for entry in trusted] == IDS[:1:-1]


def test_a_summary_of_a_short_history_holds_all_of_it() -> None:
    assert project(IDS[:3], IDS[2::-1]).trusted_recent_deployments() is not None
    assert project([], []).trusted_recent_deployments() == []


@pytest.mark.parametrize(
    ("ids", "summarized"),
    [
        (IDS, None),  # written before it, or by another program
        ([*IDS, "d12"], IDS[:1:-1]),  # by a program that does not know it
        (IDS[:-1], IDS[:1:-1]),
        (IDS, IDS[2:]),
        (IDS, [*IDS[:2:-1], IDS[0]]),
    ],
    ids=["absent", "one added since", "the newest removed since", "oldest first", "not the newest"],
)
def test_a_summary_out_of_step_with_deployment_ids_is_not_trusted(
    ids: list[str], summarized: list[str] | None
) -> None:
    assert project(ids, summarized).trusted_recent_deployments() is None


def test_listings_within_the_summary_or_of_a_whole_history_are_answered_from_it() -> None:
    long, short = project(IDS, IDS[:1:-1]), project(IDS[:3], IDS[2::-1])

    assert [d.deployment_id for d in long.listed_deployments(10) or []] == IDS[:1:-1]
    assert [d.deployment_id for d in long.listed_deployments(1) or []] == [IDS[-1]]
    assert [d.deployment_id for d in short.listed_deployments(20) or []] == IDS[2::-1]
    assert [d.deployment_id for d in short.listed_deployments(None) or []] == IDS[2::-1]
    (latest,) = long.listed_deployments(1) or []
    assert (latest.user_id, latest.project_id, latest.config, latest.logs) == ("u", "p", None, None)


def test_listings_past_the_summary_of_a_longer_history_are_not_answered_from_it() -> None:
    long = project(IDS, IDS[:1:-1])

    assert long.listed_deployments(11) is None
    assert long.listed_deployments(None) is None  # a status filter over the whole history
    assert project(IDS, None).listed_deployments(1) is None


def test_the_bound_is_read_at_each_use(lower_quotas: Callable[..., None]) -> None:
    lower_quotas(RECENT_DEPLOYMENTS=2)

    assert project(IDS, IDS[:-3:-1]).trusted_recent_deployments() is not None
    assert project(IDS, IDS[:1:-1]).trusted_recent_deployments() is None


def test_a_summary_is_made_only_of_known_distinct_deployments() -> None:
    known = {i: summary(i) for i in IDS}

    made = recent_deployments(IDS, known)
    assert [entry.deployment_id for entry in made or []] == IDS[:1:-1]
    assert recent_deployments(IDS, {i: s for i, s in known.items() if i != IDS[5]}) is None
    assert recent_deployments([*IDS, IDS[-1]], known) is None


def test_a_summary_is_stored_as_the_deployment_item_stores_those_attributes() -> None:
    stored = project(IDS[:1], IDS[:1]).to_item()["recentDeployments"]

    assert stored == [
        {
            "deploymentId": IDS[0],
            "status": "failed",
            "version": 1,
            "createdAt": STAMP,
            "updatedAt": STAMP,
        }
    ]
    assert Project.model_validate(project(IDS[:1], IDS[:1]).to_item()) == project(IDS[:1], IDS[:1])
