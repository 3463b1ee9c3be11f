"""OCR holds no connection: with a pool of exactly one connection, the OCR service keeps
answering while a scan is being read."""

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest

from rivet_contracts import Identity, Role, Rpc
from rivet_contracts.ocr import GetScan, SubmitNameplate
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.identity import identity_headers

PHOTO = Path(__file__).parent / "fixtures" / "np_011_clean.jpg"


async def test_reads_are_answered_while_a_scan_is_read(
    services: ServiceSet, isolated_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = Identity(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role=Role.TECHNICIAN)
    headers = identity_headers(caller)
    reading, release = asyncio.Event(), asyncio.Event()

    async with services.alone("ocr", isolated_database, db_pool_size=1, db_pool_overflow=0) as ocr:
        reader = ocr.state.reader
        read = reader.read

        async def held(photo: bytes) -> Any:
            """The real OCR, started only when the test has looked at the service."""
            reading.set()
            await release.wait()
            return await read(photo)

        monkeypatch.setattr(reader, "read", held)
        settings = ocr.settings
        nc = await nats.connect(settings.nats_url)

        async def ask(subject: str, request: Any) -> dict[str, Any]:
            reply = await nc.request(
                settings.subject(subject),
                request.model_dump_json().encode(),
                timeout=5,
                headers=headers,
            )
            answer: dict[str, Any] = json.loads(reply.data)
            return answer

        try:
            assert ocr.uploads is not None
            key = await ocr.uploads.put(PHOTO.read_bytes(), prefix="nameplates")
            scan = await ask(Rpc.OCR_SUBMIT, SubmitNameplate(upload_key=key))
            assert scan["status"] == "queued", scan
            await asyncio.wait_for(reading.wait(), 20)
            # The worker now reads the photo; the service's only connection is free:
            times = []
            for _ in range(3):
                started = time.perf_counter()
                seen = await ask(Rpc.OCR_GET_SCAN, GetScan(scan_id=scan["id"]))
                times.append(time.perf_counter() - started)
                assert seen["status"] == "queued", seen
            assert max(times) < 2.0, times
            release.set()
            for _ in range(300):
                seen = await ask(Rpc.OCR_GET_SCAN, GetScan(scan_id=scan["id"]))
                if seen["status"] != "queued":
                    break
                await asyncio.sleep(0.1)
            assert seen["status"] in ("matching", "needs_review"), seen
            assert seen["fields"]["manufacturer"]["value"], seen
        finally:
            release.set()
            await nc.close()
