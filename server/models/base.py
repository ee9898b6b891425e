"""What every model shares: stored records, validated inputs, ids and timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel
from ulid import ULID

from server.errors import BadUserInput

__all__ = [
    "Description",
    "DisplayName",
    "ExpectedVersion",
    "Patch",
    "InputModel",
    "Record",
    "is_key",
    "iso_time",
    "new_id",
    "now_iso",
    "parse_input",
]

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Description = Annotated[str, StringConstraints(max_length=4000)]
ExpectedVersion = Annotated[int | None, Field(ge=1)]

InputT = TypeVar("InputT", bound="InputModel")

# What can be a sort key of ours (ULIDs, and ids other programs may have written);
# anything else cannot name an item, so lookups treat it as absent without asking DynamoDB.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:@+-]{1,255}$")


class Record(BaseModel):
    """An item as stored: attributes in the seed's camelCase, fields in snake_case."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
        extra="ignore",
    )

    def to_item(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class InputModel(BaseModel):
    """Arguments from a client, validated once; errors name the camelCase input field."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        frozen=True,
        extra="forbid",
    )


class Patch(InputModel):
    """An update: fields left out keep their value, and explicit nulls are refused.

    `expected_version`, when given, must equal the stored version.
    """

    expected_version: ExpectedVersion = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: Any) -> object:
        # Runs only on values the client gave: an explicit null is an error, not "keep".
        if value is None and info.field_name != "expected_version":
            raise ValueError("must not be null; leave the field out to keep its value")
        return value

    def given(self) -> dict[str, Any]:
        """The fields the client gave, by name, without `expected_version`."""
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name != "expected_version"
        }


def parse_input(model: type[InputT], data: dict[str, Any]) -> InputT:
    """Validate client input; the one place where validation errors become BAD_USER_INPUT."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        raise BadUserInput(_message(error), field=field) from None


def _message(error: Any) -> str:
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def new_id() -> str:
    return str(ULID())


def now_iso() -> str:
    """The current UTC time as ISO-8601 with milliseconds, e.g. 2026-11-24T18:59:12.123Z."""
    return iso_time(datetime.now(UTC))


def iso_time(moment: datetime) -> str:
    """`moment` (aware) as UTC ISO-8601 with milliseconds, the way items store times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_key(value: str) -> bool:
    """Whether `value` could be the id of a stored item."""
    return KEY_PATTERN.fullmatch(value) is not None
