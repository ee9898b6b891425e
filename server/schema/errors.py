"""The one formatter: every error of a response gets its `extensions.code` here.

Domain errors carry their code; parse and validation failures get the GraphQL ones; errors
of coercing variables are the caller's input; anything else is unexpected, logged, and masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from server.errors import DomainError, Unauthenticated

__all__ = [
    "REQUEST_REFUSALS",
    "CodedParserCache",
    "ErrorCodes",
    "MaskUnexpectedErrors",
    "RequireIdentity",
    "is_unexpected",
]

logger = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Internal server error"
# strawberry's refusals of a request before anything runs: no `query`, no operation of that
# name (or several and no name), an operation type the transport does not run. Over HTTP the
# view answers them with a 400 (`server/app.py`); on a WebSocket they close it with 4400.
REQUEST_REFUSALS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


def is_unexpected(error: GraphQLError) -> bool:
    """An error raised by code, not a domain error nor one of GraphQL's own."""
    original = error.original_error
    return original is not None and not isinstance(
        original, (DomainError, GraphQLError, *REQUEST_REFUSALS)
    )


def extensions_for(error: GraphQLError, *, validation_failed: bool) -> dict[str, object]:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.extensions
    if isinstance(error, GraphQLSyntaxError):
        return {"code": "GRAPHQL_PARSE_FAILED"}
    if isinstance(original, REQUEST_REFUSALS):
        return {"code": "BAD_REQUEST"}
    if validation_failed:
        return {"code": "GRAPHQL_VALIDATION_FAILED"}
    if original is None or isinstance(original, GraphQLError):
        # Raised while coercing the operation's variables: the caller's input.
        return {"code": "BAD_USER_INPUT"}
    return {"code": "INTERNAL_SERVER_ERROR"}


class ErrorCodes(SchemaExtension):
    """Sets `extensions.code` on every error; list it first so it sees the final errors."""

    def __init__(self) -> None:
        self._validation_errors: set[int] = set()

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = {
            id(error) for error in self.execution_context.pre_execution_errors or ()
        }

    def on_operation(self) -> Iterator[None]:
        yield
        self._code(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:
        # Each result of a subscription, before it is sent.
        self._code(result)
        yield

    def _code(self, result: object) -> None:
        for error in getattr(result, "errors", None) or ():
            if error.extensions and "code" in error.extensions:
                continue
            error.extensions = {
                **(error.extensions or {}),
                **extensions_for(error, validation_failed=id(error) in self._validation_errors),
            }


class CodedParserCache(ParserCache):
    """strawberry's ParserCache, whose syntax errors also get their code.

    ParserCache parses while entering its hook, so a syntax error leaves the operation before
    `ErrorCodes.on_operation` could see it.
    """

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLSyntaxError as error:
            error.extensions = extensions_for(error, validation_failed=False)
            raise


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors with a generic one; the schema logs the originals."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


class RequireIdentity(SchemaExtension):
    """An operation without an identity fails with UNAUTHENTICATED before any resolver runs.

    Its error takes the place of the validation result (list it after `ValidationCache`), so an
    anonymous caller learns nothing of the schema from validation errors either.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context.context
        if context.identity is None:
            error = context.auth_error or Unauthenticated("authentication required")
            self.execution_context.pre_execution_errors = [
                GraphQLError(str(error), original_error=error)
            ]
        yield
