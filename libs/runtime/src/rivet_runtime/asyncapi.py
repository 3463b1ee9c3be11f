"""Generate Rivet's AsyncAPI document from the contract catalogue.

    uv run python -m rivet_runtime.asyncapi > docs/asyncapi.json

A test regenerates it and fails when the checked-in copy is stale.
"""

import json
import sys
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from rivet_contracts import EventEnvelope, Events
from rivet_contracts.base import DeadLettered
from rivet_contracts.catalog import EVENTS, RPCS

DESCRIPTION = """Rivet's messaging contract.

Domain events are published on JetStream with `Nats-Msg-Id` = `event_id` (streams: USERS,
EQUIPMENT, WORKORDERS, NAMEPLATES, MAINTENANCE, INTEGRATIONS, READINGS, DEADLETTERS). Machines
publish meter readings on `reading.submitted.<org_id>` (stream READINGS). Requests are NATS
request-reply on `rpc.<service>.<action>`: the body is the request model, the caller travels in
the headers `Rivet-User-Id`, `Rivet-Org-Id`, `Rivet-Role`, `Rivet-Correlation-Id`,
`Rivet-Channel`; a reply carrying the header `Rivet-Error` has an `ErrorInfo` body. A successful
reply may say what the request did in the header `Rivet-Outcome`: `created` (something new
exists) or `accepted` (work is under way; the body is its state so far); without it the request
is simply done. A deployment may prefix every subject with a namespace (`NATS_NAMESPACE`).

For outside subscribers, the integrations service copies every exported event of an
organization, bytes unchanged, to that organization's stream `ORG_<org id without dashes, upper
case>` on `org.<org_id>.<event subject>` (the `org.{org_id}.*` channels below; `Nats-Msg-Id` =
`event_id`, kept 30 days). An integration's NATS user (`permissions.py --integration
name=<org_id>`) reads only its organization's stream, through durable pull consumers it creates,
with replies on `_INBOX_integration_<name>`. Internal events are never copied. See
docs/integrations.md."""

ORG_CHANNEL = "org.{org_id}"
"""The exporter's copy of an exported event goes to ``org.{org_id}.<subject>``."""
PARAMETERS = {
    "org_id": "The organization's id (a UUID with dashes, as in the envelope's `org_id`).",
    "consumer": "The durable consumer that gave the message up.",
}
"""The address parameters of the channels (AsyncAPI 3 declares each one on its channel)."""


def _typed(model: type[BaseModel], name: str) -> Any:
    """A handler whose signature carries ``model`` (FastStream reads schemas from it)."""

    async def handler(body: model) -> None:  # type: ignore[valid-type]
        return None

    handler.__name__ = name
    return handler


def build() -> dict[str, Any]:
    broker = NatsBroker(specification_url="nats://nats:4222", description="Rivet's NATS")
    for subject, spec in sorted(RPCS.items()):
        reply = broker.publisher(
            f"{subject}.reply",
            title=f"{subject}:reply",
            description=f"Reply to {subject} ({spec.reply.__name__}, or ErrorInfo when the "
            "Rivet-Error header is set)."
            + (f" Success sets Rivet-Outcome: {spec.outcome.value}." if spec.outcome else "")
            + " Replies go to the requester's inbox; this channel only documents their schema.",
            schema=spec.reply,
            include_in_schema=True,
        )
        broker.subscriber(
            subject,
            title=f"{subject}:request",
            description=spec.summary
            + (f" Requires role {spec.min_role.value}." if spec.min_role else " No caller needed.")
            + (
                f" Callers wait {spec.timeout:g} s for the answer (RPC_TIMEOUT when longer)."
                if spec.timeout
                else ""
            ),
        )(reply(_typed(spec.request, spec.request.__name__)))
    for subject, event in sorted(EVENTS.items()):
        envelope: Any = EventEnvelope[event.data]  # type: ignore[name-defined]
        broker.publisher(subject, title=subject, description=event.summary, schema=envelope)
    for subject, event in sorted(EVENTS.items()):
        if not event.exported:
            continue
        envelope = EventEnvelope[event.data]  # type: ignore[name-defined]
        broker.publisher(
            f"{ORG_CHANNEL}.{subject}",
            title=f"org:{subject}",
            description=f"The organization's copy of `{subject}` in its stream ORG_<org id hex>, "
            "for outside subscribers (read-only, durable pull consumers): " + event.summary,
            schema=envelope,
        )
    dead: Any = EventEnvelope[DeadLettered]
    broker.publisher(
        f"{Events.DEAD_LETTER}.{{consumer}}",
        title="deadletter",
        description="A message a consumer gave up on after its bounded redeliveries.",
        schema=dead,
    )
    asyncapi = AsyncAPI(
        broker, title="Rivet events and requests", version="1", description=DESCRIPTION
    )
    document: dict[str, Any] = json.loads(asyncapi.to_specification().to_json())
    for channel in document["channels"].values():
        used = {
            name: text for name, text in PARAMETERS.items() if f"{{{name}}}" in channel["address"]
        }
        if used:
            channel["parameters"] = {name: {"description": text} for name, text in used.items()}
    return document


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
