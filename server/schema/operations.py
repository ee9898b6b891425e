"""Which operation of the document runs: the one `operationName` names, or the document's
only one (the GraphQL spec's GetOperation).

strawberry, given no `operationName`, runs the document's first operation however many it
holds; the spec makes that a request error, and so does this server: the request is refused
(HTTP 400 `BAD_REQUEST`, or the WebSocket closed with 4400) naming the operations to choose
from, before anything runs.
"""

from __future__ import annotations

from graphql import DocumentNode, OperationDefinitionNode
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

__all__ = ["AmbiguousOperation", "ChosenOperation"]

# How many of the operations' names a refusal lists.
NAMES_SHOWN = 5


class AmbiguousOperation(CannotGetOperationTypeError):
    """A document of several operations and no `operationName`. A CannotGetOperationTypeError,
    so strawberry refuses it as it refuses an `operationName` that names no operation."""

    def __init__(self, operations: list[OperationDefinitionNode]) -> None:
        super().__init__(None)
        self.operations = operations

    def as_http_error_reason(self) -> str:
        names = [node.name.value if node.name else "(anonymous)" for node in self.operations]
        shown = ", ".join(names[:NAMES_SHOWN]) + (", ..." if len(names) > NAMES_SHOWN else "")
        return (
            f"the document holds {len(names)} operations ({shown}): name the one to run in"
            " `operationName`"
        )


class ChosenOperation(ExecutionContext):
    """strawberry's execution context without its guess of the first operation."""

    @property
    def _named(self) -> str | None:
        """The `operationName` given; empty is absent (GraphQL over HTTP says so of a GET's
        parameters, and no operation has an empty name)."""
        provided: str | None = self._provided_operation_name
        return provided or None

    @property
    def operation_name(self) -> str | None:
        if self._named is not None:
            return self._named
        operations = _operations(self.graphql_document)
        if len(operations) == 1 and operations[0].name is not None:
            return operations[0].name.value
        return None

    @property
    def operation_type(self) -> OperationType:
        if self._named is None:
            operations = _operations(self.graphql_document)
            if len(operations) > 1:
                raise AmbiguousOperation(operations)
        return super().operation_type


def _operations(document: DocumentNode | None) -> list[OperationDefinitionNode]:
    if document is None:
        return []
    return [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
