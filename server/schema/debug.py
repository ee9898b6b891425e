"""`DEBUG_EXTENSIONS`: each response tells how many DynamoDB requests and rounds it took."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from server.store import instrument

__all__ = ["DynamoDBTally"]


class DynamoDBTally(SchemaExtension):
    def __init__(self) -> None:
        self._tally: instrument.Tally | None = None

    def on_operation(self) -> Iterator[None]:
        with instrument.track() as tally:
            self._tally = tally
            yield

    def get_results(self) -> dict[str, object]:
        context = self.execution_context.context
        if self._tally is None or not context.settings.shows_debug_extensions:
            return {}
        return {"dynamodb": self._tally.as_extension()}
