"""Base classes every contract model derives from.

Requests are strict (an unknown field is an error, so a client cannot smuggle in ``role`` or
``org_id``); events are lenient (a consumer ignores fields added by a newer producer).
"""

from pydantic import BaseModel, ConfigDict


class Request(BaseModel):
    """A command or query sent to a service. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
