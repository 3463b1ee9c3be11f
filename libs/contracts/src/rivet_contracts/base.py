"""Base classes every contract model derives from.

Requests are strict (an unknown field is an error, so a client cannot smuggle in ``role`` or
``org_id``); events are lenient (a consumer ignores fields added by a newer producer).
"""

from collections.abc import Iterable
from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


class Request(BaseModel):
    """A command or query sent to a service. Unknown fields are refused.

    Text is stripped of surrounding whitespace before it is checked and used, but a field's
    ``max_length`` (and that of a list's text items) - the ``maxLength`` the API document
    promises - holds for the text as sent: pydantic would otherwise check it after stripping
    and accept longer input.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _length_as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        if isinstance(value, str):
            _check_length(value, _max_length(cls, info.field_name))
        elif isinstance(value, list):
            limit = _item_max_length(cls, info.field_name)
            for item in value if limit is not None else ():
                if isinstance(item, str):
                    _check_length(item, limit)
        return value


def _check_length(value: str, limit: int | None) -> None:
    if limit is not None and len(value) > limit:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": limit},
        )


@cache
def _max_length(model: type[BaseModel], field: str) -> int | None:
    """The ``max_length`` declared on a text field - with ``Field``, or with ``StringConstraints``
    on its type, also inside ``X | None`` - if any."""
    info = model.model_fields.get(field)
    if info is None:
        return None
    found = [*_limits(info.metadata), *_limits_in(info.annotation)]
    return min(found) if found else None


@cache
def _item_max_length(model: type[BaseModel], field: str) -> int | None:
    """The ``max_length`` of the text items of a ``list[...]`` field, if any."""
    info = model.model_fields.get(field)
    if info is None:
        return None
    lists = [a for a in [info.annotation, *get_args(info.annotation)] if get_origin(a) is list]
    found = [x for a in lists for item in get_args(a) for x in _limits_in(item)]
    return min(found) if found else None


def _limits(metadata: Iterable[Any]) -> list[int]:
    limits = (getattr(m, "max_length", None) for m in metadata)
    return [x for x in limits if isinstance(x, int)]


def _limits_in(annotation: Any) -> list[int]:
    if get_origin(annotation) is Annotated:
        return _limits(getattr(annotation, "__metadata__", ()))
    if get_origin(annotation) in (Union, UnionType):
        return [x for arg in get_args(annotation) for x in _limits_in(arg)]
    return []


class View(BaseModel):
    """A reply or a read model. Unknown fields are ignored for forward compatibility."""

    model_config = ConfigDict(extra="ignore")


class EventData(BaseModel):
    """The payload of a domain event. Unknown fields are ignored for forward compatibility."""

    model_config = ConfigDict(extra="ignore")


class Done(View):
    """The reply to a command that has nothing else to say."""

    done: bool = True


class DeadLettered(EventData):
    """Published as ``deadletter.<consumer>`` when a consumer gives up on a message."""

    consumer: str
    subject: str
    event_id: str | None
    error: str
    deliveries: int
    payload: str
