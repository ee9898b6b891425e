"""The cost limit at work: an operation over it does not run, and one that turns out over it
(an account holding more than its quotas) is stopped at the next list it completes.

The count is taken where graphql-core completes a list (once per list, not per field), so
the fields themselves run at full speed: see `server/dataloaders/ready.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLList, GraphQLOutputType, GraphQLSchema, get_named_type
from graphql.execution.executor import Executor
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from server.errors import CostExceeded
from server.schema.cost import CostMeter, Estimator

__all__ = ["CostReport", "MeteredExecutor"]


class MeteredExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, refusing operations over the cost limit and counting lists."""

    meter: CostMeter | None = None

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: Any,
        root_value: Any = None,
        context_value: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor[Any]:
        executor = super().build(schema, document, root_value, context_value, *args, **kwargs)
        settings = getattr(context_value, "settings", None)
        if isinstance(executor, list) or settings is None:
            return executor
        estimator = Estimator(
            schema, executor.fragment_definitions, executor.variable_values.coerced
        )
        meter = CostMeter(
            estimator=estimator,
            limit=settings.max_query_cost,
            requested=estimator.operation(executor.operation),
            root=estimator.root(executor.operation),
        )
        context_value.cost = meter
        if meter.requested > meter.limit:
            refusal = meter.refusal()
            return [GraphQLError(refusal.message, original_error=refusal)]
        meter.restart()
        executor.meter = meter  # type: ignore[attr-defined]
        context_value.execution_started = True
        return executor

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        if self.meter is not None:
            self.meter.restart()
        return super().build_per_event_executor(payload)

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self.meter is not None:
            nodes = [details.node for details in field_details_list]
            self.meter.count_list(get_named_type(return_type), nodes, result)
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )


class CostReport(SchemaExtension):
    """One cost error per response, and with `DEBUG_EXTENSIONS` the cost of every operation
    in `extensions.cost`."""

    def on_execute(self) -> Iterator[None]:
        yield
        errors = getattr(self.execution_context.result, "errors", None)
        if errors:
            errors[:] = _without_repeated_cost_errors(errors)

    def get_results(self) -> dict[str, object]:
        context = self.execution_context.context
        meter = getattr(context, "cost", None)
        if meter is None or not context.settings.shows_debug_extensions:
            return {}
        return {"cost": {"requestedQueryCost": meter.requested, "actualQueryCost": meter.actual}}


def _without_repeated_cost_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Once stopped, every list that was still to complete failed too: keep the first."""
    kept: list[GraphQLError] = []
    seen_cost = False
    for error in errors:
        if isinstance(error.original_error, CostExceeded):
            if seen_cost:
                continue
            seen_cost = True
        kept.append(error)
    return kept
