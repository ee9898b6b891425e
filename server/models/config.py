"""What the seed's config maps share: how they are read and stored, and the `model` map.

A config map (an agent's, a tool's, the main orchestrator's `config`, and a deployment's
snapshot of them) is kept as the JSON it is stored as, so that what other programs wrote
stays readable and survives a read-modify-write: keys a model does not declare are kept as
they are; a declared key left out, or null where its field cannot be null, reads as the
field's default and stays out when written back; a number reads as text where text is
expected; and a declared key whose value is of no kind the field takes (a list for a
prompt, a type the API does not know) reads as the field's default too, so one odd value
does not make the whole item, and every listing that holds it, unreadable.
"""

from __future__ import annotations

from enum import Enum
from types import NoneType
from typing import Annotated, Any, ClassVar, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)

__all__ = ["ModelSettings", "Stored", "StoredConfig", "StoredEnum"]


class StoredConfig(BaseModel):
    """A config map as the seed describes it: its keys as the seed spells them (snake_case
    fields, an alias where the seed writes camelCase), only those it was read or built with."""

    model_config = ConfigDict(
        validate_by_name=False,
        validate_by_alias=True,
        frozen=True,
        extra="allow",
        coerce_numbers_to_str=True,
    )
    # The stored keys of the declared fields that cannot hold null (set per subclass).
    _not_null: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._not_null = frozenset(
            field.alias or name
            for name, field in cls.model_fields.items()
            if NoneType not in get_args(field.annotation)
        )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            return {k: v for k, v in data.items() if v is not None or k not in cls._not_null}
        return data

    @model_validator(mode="wrap")
    @classmethod
    def _unreadable_is_absent(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as error:
            if not isinstance(data, dict):
                raise
            unreadable = {e["loc"][0] for e in error.errors() if e["loc"] and e["loc"][0] in data}
            if not unreadable:
                raise
            return handler({k: v for k, v in data.items() if k not in unreadable})

    def stored(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        """The map as stored: the keys it holds (unknown ones too), by the seed's names."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude=exclude)


def _stored(config: StoredConfig) -> dict[str, Any]:
    return config.stored()


ConfigT = TypeVar("ConfigT", bound=StoredConfig)
# A record's config map: written as `StoredConfig.stored()` writes it, whatever the record's
# own dump leaves out.
Stored = Annotated[ConfigT, PlainSerializer(_stored)]


def _value(member: Enum) -> Any:
    return member.value


# `Annotated[SomeEnum, StoredEnum]`: an enum field of a stored map, written as its value.
StoredEnum = PlainSerializer(_value)


class ModelSettings(StoredConfig):
    """The seed's `model` map: the model an agent or the main orchestrator runs on."""

    region: str = ""
    model_id: str = ""
