"""The Deployments table's writes, as DynamoDB itself validates them."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from server.models import DeploymentStatus, now_iso
from server.store import Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.schema.test_deployment import deploy, new_project

EXPRESSIONS = (
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "KeyConditionExpression",
    "FilterExpression",
)


class RefusesUnusedPlaceholders:
    """The real client, except that a TransactWriteItems item declaring a placeholder its
    expressions do not use is refused, as DynamoDB refuses it (moto lets it pass)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def transact_write_items(self, **params: Any) -> dict[str, Any]:
        for item in params["TransactItems"]:
            ((_, operation),) = item.items()
            text = " ".join(operation.get(name, "") for name in EXPRESSIONS)
            used = set(re.findall(r"[#:][A-Za-z0-9_]+", text))
            declared = {
                *operation.get("ExpressionAttributeNames", {}),
                *operation.get("ExpressionAttributeValues", {}),
            }
            if unused := declared - used:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ValidationException",
                            "Message": f"Value provided in ExpressionAttributeValues unused in"
                            f" expressions: keys: {{{', '.join(sorted(unused))}}}",
                        }
                    },
                    "TransactWriteItems",
                )
        response: dict[str, Any] = await self._client.transact_write_items(**params)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def test_a_change_of_a_deployment_its_projects_summary_lacks_sends_only_used_placeholders(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a PENDING deployment whose project's summary does not list it
    project_id = await new_project(client)
    deployment_id = (await deploy(client, project_id))["id"]
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET recentDeployments = :none", values={":none": []}),
    )
    project = await store.projects.get(user_id, project_id, consistent=True)
    old = await store.deployments.get(user_id, deployment_id, consistent=True)
    assert project is not None
    assert old is not None

    # when a log line is added (it stays active, so the project keeps its slot) on a DynamoDB
    # that refuses unused placeholders
    new = old.model_copy(
        update={"logs": ["working"], "version": old.version + 1, "updated_at": now_iso()}
    )
    strict = Store.on(RefusesUnusedPlaceholders(store.client), store.tables)
    await strict.deployments.change(old, new, project)

    # then the change and the project's side of it (the summary removed) were written
    stored = await store.deployments.get(user_id, deployment_id, consistent=True)
    assert stored is not None
    assert (stored.status, stored.logs) == (DeploymentStatus.PENDING, ["working"])
    after = await store.projects.get(user_id, project_id, consistent=True)
    assert after is not None
    assert after.recent_deployments is None
    assert after.active_deployment_id == deployment_id
