"""DynamoDB responses as they come on the wire, without botocore's shape walk.

botocore turns every response into Python by walking the operation's output shape: a
recursive call per AttributeValue, which profiles as most of the server's CPU for a list of
items. DynamoDB's JSON wire format *is* the AttributeValue structure that `codec` reads, so
successful responses are handed over as plain JSON instead, decoded by orjson (about twice
as fast as `json` on a page of items). Errors, event streams and everything else keep
botocore's own parsing.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiobotocore.parsers import AioJSONParser, AioResponseParserFactory

__all__ = ["use_wire_parser"]


class WireJSONParser(AioJSONParser):  # type: ignore[misc]
    async def _do_parse(self, response: dict[str, Any], shape: Any) -> dict[str, Any]:
        if shape is None or shape.event_stream_name:
            parsed: dict[str, Any] = await super()._do_parse(response, shape)
            return parsed
        parsed = self._parse_body_as_json(response["body"])
        self._inject_response_metadata(parsed, response["headers"])
        return parsed

    def _parse_body_as_json(self, body_contents: bytes) -> Any:
        if not body_contents:
            return {}
        try:
            return orjson.loads(body_contents)
        except orjson.JSONDecodeError:  # botocore's way: `json`, or the text as a message
            return super()._parse_body_as_json(body_contents)


class WireParserFactory(AioResponseParserFactory):  # type: ignore[misc]
    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return WireJSONParser(**self._defaults)
        return super().create_parser(protocol_name)


def use_wire_parser(client: Any) -> None:
    """Make `client` (a DynamoDB client) parse successful responses as plain JSON.

    botocore offers no public switch for this; the parser factory of the client's endpoint is
    the one seam, and `tests/store/test_wire.py` checks the results match botocore's.
    """
    client._endpoint._response_parser_factory = WireParserFactory()
