"""Waiting for a job (a CSV import, a nameplate scan) on behalf of a client that asked to."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import Response


async def wait_while_running(
    fetch: Callable[[], Awaitable[Response]], *, location: str, wait: float, every: float = 0.1
) -> Response:
    """Poll ``fetch`` for up to ``wait`` seconds while it answers 202 (the service's outcome
    ``accepted``: the job still runs); a job still running is answered 202 with ``Location`` to
    poll. Only the status is looked at, never the body."""
    deadline = time.monotonic() + wait
    while True:
        response = await fetch()
        if response.status_code != 202 or time.monotonic() >= deadline:
            if response.status_code == 202:
                response.headers["Location"] = location
            return response
        await asyncio.sleep(every)
