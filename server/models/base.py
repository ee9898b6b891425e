"""What every model shares: stored records, validated inputs, ids and timestamps."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import CoreSchema, core_schema
from ulid import ULID

from server.errors import BadUserInput

__all__ = [
    "Description",
    "DisplayName",
    "ExpectedVersion",
    "FreeText",
    "Name",
    "Patch",
    "InputModel",
    "Record",
    "is_key",
    "iso_time",
    "new_id",
    "now_iso",
    "parse_input",
]

# Joiners that belong inside words of some scripts (ZWNJ in Persian) and in emoji sequences
# (ZWJ in 👨‍👩‍👧); a name may hold one only between two visible non-ASCII characters.
JOINERS = frozenset("\u200c\u200d")
# Free text keeps tab, line feed and carriage return, but no other control character (Unicode's
# Cc is exactly U+0000-U+001F and U+007F-U+009F), nor the embeddings, overrides and isolates
# that reorder how text is shown (the "Trojan Source" trick); the marks U+200E, U+200F and
# U+061C that mixed-direction text needs stay allowed.
UNPRINTABLE_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _name_characters(name: str) -> str:
    """Refuse control, format and separator characters (Unicode Cc, Cf, Zl, Zp) in a name,
    but for a joiner between two visible non-ASCII characters."""
    for index, char in enumerate(name):
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or (category == "Cf" and not _joins(name, index)):
            raise ValueError(
                f"must not contain control or format characters"
                f" (U+{ord(char):04X} at position {index})"
            )
    return name


def _joins(name: str, index: int) -> bool:
    if name[index] not in JOINERS or not 0 < index < len(name) - 1:
        return False
    return all(
        not neighbour.isascii()
        and not neighbour.isspace()
        and unicodedata.category(neighbour) not in ("Cc", "Cf", "Zl", "Zp")
        for neighbour in (name[index - 1], name[index + 1])
    )


def _text_characters(text: str) -> str:
    """Refuse NUL and other control characters but tab, line feed and carriage return, and the
    bidirectional embeddings, overrides and isolates, in free text."""
    found = UNPRINTABLE_IN_TEXT.search(text)
    if found is not None:
        raise ValueError(
            "must not contain control characters other than tab and line breaks,"
            f" nor bidirectional overrides (U+{ord(found.group()):04X} at position {found.start()})"
        )
    return text


@dataclass(frozen=True)
class Name:
    """`Annotated[str, Name(max_length=...)]`: a name or label, stripped, not blank, without
    control or format characters; used wherever names are declared."""

    max_length: int

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        text = core_schema.str_schema(
            strip_whitespace=True, min_length=1, max_length=self.max_length
        )
        return core_schema.no_info_after_validator_function(_name_characters, text)


@dataclass(frozen=True)
class FreeText:
    """`Annotated[str, FreeText(max_length=...)]`: descriptions, prompts, values, code; any
    text but control characters (tab and line breaks aside) and bidirectional overrides."""

    max_length: int | None = None
    min_length: int | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        text = core_schema.str_schema(min_length=self.min_length, max_length=self.max_length)
        return core_schema.no_info_after_validator_function(_text_characters, text)


DisplayName = Annotated[str, Name(max_length=128)]
Description = Annotated[str, FreeText(max_length=4000)]
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
