"""The catalogue: for every subject, its models and who may call it.

Each domain module of the contracts lists its ``RPCS`` and ``EVENTS``; this module gathers them.
The runtime uses the catalogue to validate requests and enforce roles uniformly, and the AsyncAPI
document is generated from it, so a subject cannot exist without a typed contract.
"""

from typing import Any

from . import assets, attachments, auth, integrations, maintenance, ocr, workorders
from .spec import EventSpec, RpcSpec

MODULES = (auth, assets, workorders, ocr, maintenance, integrations, attachments)

RPCS: dict[str, RpcSpec[Any, Any]] = {spec.subject: spec for m in MODULES for spec in m.RPCS}
EVENTS: dict[str, EventSpec] = {spec.subject: spec for m in MODULES for spec in m.EVENTS}

__all__ = ["EVENTS", "RPCS", "EventSpec", "RpcSpec"]
