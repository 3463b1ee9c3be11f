"""The domain streams the exporter reads, each through a durable consumer of its own.

``deploy/nats/permissions.py`` reads ``SOURCES`` to grant the service exactly these consumers.
"""

from dataclasses import dataclass

from rivet_contracts.streams import EXPORTED_STREAMS, StreamSpec


@dataclass(frozen=True)
class Source:
    stream: StreamSpec
    durable: str

    @property
    def name(self) -> str:
        """The stream's name without the namespace (the metrics' ``stream`` label)."""
        return self.stream.name


SOURCES: tuple[Source, ...] = tuple(
    Source(stream, f"integrations-export-{stream.name.lower()}") for stream in EXPORTED_STREAMS
)
