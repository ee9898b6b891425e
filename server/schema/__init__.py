"""The GraphQL schema: each entity's types and fields, merged."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ValidationCache
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from server.schema.agent import AgentMutation, AgentQuery
from server.schema.builtin_tool import BuiltinToolMutation, BuiltinToolQuery
from server.schema.debug import DynamoDBTally
from server.schema.deployment import DeploymentMutation, DeploymentQuery, DeploymentSubscription
from server.schema.env_var import EnvVarMutation
from server.schema.errors import (
    CodedParserCache,
    ErrorCodes,
    MaskUnexpectedErrors,
    RequireIdentity,
    is_unexpected,
)
from server.schema.main_config import MainConfigMutation
from server.schema.project import ProjectMutation, ProjectQuery
from server.schema.scalars import SCALARS
from server.schema.tool import ToolMutation, ToolQuery
from server.schema.viewer import ViewerQuery

__all__ = ["schema"]

logger = logging.getLogger("server.errors")

MAX_QUERY_DEPTH = 10
# strawberry's QueryDepthLimiter makes a new rule class per instance, which would defeat
# ValidationCache (keyed by the rules): one class, made once.
DepthLimit = create_validator(MAX_QUERY_DEPTH, None, None)

Query = merge_types(
    "Query",
    (ViewerQuery, ProjectQuery, AgentQuery, ToolQuery, DeploymentQuery, BuiltinToolQuery),
)
Mutation = merge_types(
    "Mutation",
    (
        ProjectMutation,
        AgentMutation,
        ToolMutation,
        MainConfigMutation,
        EnvVarMutation,
        DeploymentMutation,
        BuiltinToolMutation,
    ),
)
Subscription = merge_types("Subscription", (DeploymentSubscription,))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors are answers, not incidents: log only what will be masked.
        for error in errors:
            if is_unexpected(error):
                logger.error("unexpected error at %s", error.path, exc_info=error.original_error)


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALARS),
    # Order matters: hooks exit in reverse, so ErrorCodes sees errors after masking, and
    # RequireIdentity replaces what ValidationCache found.
    extensions=[
        ErrorCodes,
        MaskUnexpectedErrors,
        CodedParserCache,
        ValidationCache,
        lambda: AddValidationRules([DepthLimit]),
        RequireIdentity,
        DynamoDBTally,
    ],
)
