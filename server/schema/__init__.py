"""The GraphQL schema: each entity's types and fields, merged."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from graphql.validation.rules.max_introspection_depth_rule import MaxIntrospectionDepthRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ValidationCache
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from server.logs import brief_traceback
from server.schema.agent import AgentMutation, AgentQuery
from server.schema.builtin_tool import BuiltinToolMutation, BuiltinToolQuery
from server.schema.bundle import BundleMutation, BundleQuery
from server.schema.deployment import DeploymentMutation, DeploymentQuery, DeploymentSubscription
from server.schema.depth import depth_limit
from server.schema.env_var import EnvVarMutation
from server.schema.errors import (
    CodedParserCache,
    ErrorCodes,
    MaskUnexpectedErrors,
    RequireIdentity,
    is_unexpected,
)
from server.schema.loaders import FreshLoadersOnSockets
from server.schema.main_config import MainConfigMutation
from server.schema.metered import CostReport, MeteredExecutor
from server.schema.observe import ObserveOperations
from server.schema.operations import ChosenOperation
from server.schema.project import ProjectMutation, ProjectQuery
from server.schema.scalars import SCALARS
from server.schema.tool import ToolMutation, ToolQuery
from server.schema.viewer import ViewerQuery

__all__ = ["build_schema", "schema"]

logger = logging.getLogger("server.errors")

# Field levels, the root field included: `{ projects { agents { id } } }` is 3.
MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000
# A new rule class per schema would defeat ValidationCache (keyed by the rules): one class
# each, made once. (strawberry's MaxAliasesLimiter makes one per instance.)
DepthLimit = depth_limit(MAX_QUERY_DEPTH)
AliasLimit = create_alias_validator(MAX_ALIASES)

Query = merge_types(
    "Query",
    (
        ViewerQuery,
        ProjectQuery,
        AgentQuery,
        ToolQuery,
        DeploymentQuery,
        BuiltinToolQuery,
        BundleQuery,
    ),
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
        BundleMutation,
    ),
)
Subscription = merge_types("Subscription", (DeploymentSubscription,))


class Schema(strawberry.Schema):
    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        *,
        allowed_operation_types: Iterable[OperationType] | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        """Queries and mutations over HTTP; subscriptions go by WebSocket (`subscribe`), and
        one sent over HTTP is refused (`InvalidOperationTypeError`) rather than run."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        allowed.discard(OperationType.SUBSCRIPTION)
        return await super().execute(query, allowed_operation_types=allowed, **kwargs)

    def _create_execution_context(self, *args: Any, **kwargs: Any) -> ExecutionContext:
        """strawberry's, choosing the operation as the GraphQL spec does
        (`server/schema/operations.py`): several and no `operationName` is an error."""
        base = super()._create_execution_context(*args, **kwargs)
        return ChosenOperation(
            query=base.query,
            schema=base.schema,
            allowed_operations=base.allowed_operations,
            context=base.context,
            root_value=base.root_value,
            variables=base.variables,
            provided_operation_name=base._provided_operation_name,
            operation_extensions=base.operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors are answers, not incidents: log only what will be masked, bounded.
        for error in errors:
            if is_unexpected(error) and error.original_error is not None:
                logger.error(
                    "unexpected error at %s\n%s",
                    error.path,
                    brief_traceback(error.original_error),
                )


def build_schema(*, introspection: bool = True) -> Schema:
    """The schema, with introspection (and field suggestions) allowed or not."""
    validation_rules: list[type[ASTValidationRule]] = [DepthLimit, AliasLimit]
    validation_rules.append(
        MaxIntrospectionDepthRule if introspection else NoSchemaIntrospectionCustomRule
    )
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(
            scalar_map=SCALARS,
            # Suggestions ("Did you mean ...?") reveal the schema where introspection is off.
            disable_field_suggestions=not introspection,
        ),
        # Order matters: hooks exit in reverse, so ObserveOperations sees the errors as they
        # go out, ErrorCodes sees them after masking, and RequireIdentity replaces what
        # ValidationCache found.
        extensions=[
            ObserveOperations,
            ErrorCodes,
            MaskUnexpectedErrors,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            CodedParserCache,
            lambda: AddValidationRules(validation_rules),
            ValidationCache,
            RequireIdentity,
            FreshLoadersOnSockets,
            CostReport,
        ],
        # Estimates each operation's cost before it runs and counts it as lists complete.
        execution_context_class=MeteredExecutor,
    )


# The SDL does not depend on the settings: this is the schema `export-schema` prints.
schema = build_schema()
