"""The import's chunks give every row the outcome the one-row create-or-match gives it: the
same file imported row by row (``IMPORT_CHUNK_ROWS=1``) into one organization and in chunks
into another ends with the same per-row report, the same assets, history and search index."""

import asyncio
import json
import sys
import time
import uuid
from importlib import import_module
from pathlib import Path
from typing import Any

import asyncpg
import nats

from rivet_assets.imports.bulk import similarity
from rivet_contracts import Identity, Role, Rpc
from rivet_contracts.assets import GetImport, StartImport
from rivet_devstack.testing.services import ServiceSet
from rivet_runtime.identity import identity_headers

sys.path.insert(0, str(Path(__file__).parent))
sheet = import_module("import_rows").sheet


async def _import_files(
    services: ServiceSet, database: str, org_id: uuid.UUID, files: list[str], chunk: int
) -> tuple[list[uuid.UUID], list[tuple[Any, ...]]]:
    """The jobs, and the events the service published (``equipment.*``)."""
    caller = Identity(user_id=uuid.uuid4(), org_id=org_id, role=Role.ADMIN)
    jobs: list[uuid.UUID] = []
    async with services.alone(
        "assets", database, import_chunk_rows=chunk, import_tidy_rows=1_000_000
    ) as assets:
        nc = await nats.connect(assets.settings.nats_url)
        events: list[dict[str, Any]] = []

        async def heard(msg: Any) -> None:
            events.append(json.loads(msg.data))

        await nc.subscribe(assets.settings.subject("equipment.>"), cb=heard)
        try:

            async def ask(subject: str, request: Any) -> dict[str, Any]:
                reply = await nc.request(
                    assets.settings.subject(subject),
                    request.model_dump_json().encode(),
                    timeout=10,
                    headers=identity_headers(caller),
                )
                answer: dict[str, Any] = json.loads(reply.data)
                return answer

            for text in files:
                key = await assets.state.uploads.put(text.encode(), prefix="imports")
                job = await ask(Rpc.ASSETS_IMPORT_START, StartImport(upload_key=key))
                deadline = time.monotonic() + 240
                while job["status"] != "done":
                    assert time.monotonic() < deadline, job
                    await asyncio.sleep(0.3)
                    job = await ask(
                        Rpc.ASSETS_IMPORT_GET, GetImport(import_id=job["id"], rows_limit=0)
                    )
                assert job["processed_rows"] == job["total_rows"]
                jobs.append(uuid.UUID(job["id"]))
            heard_before, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < 1.5:  # until the outbox has published all
                if len(events) != heard_before:
                    heard_before, quiet_since = len(events), time.monotonic()
                await asyncio.sleep(0.1)
        finally:
            await nc.close()
    announced = sorted(
        (e["type"], e["data"]["number"], e["data"]["version"], e["data"].get("enriched"),
         e["data"].get("score"), e["data"]["serial"], e["data"]["model"], e["data"]["status"])
        for e in events
    )  # fmt: skip
    return jobs, announced


def _numbered(changes: str, ids: dict[str, str]) -> str:
    """A history entry's changes with asset ids (parents) as their numbers."""
    for id_, number in ids.items():
        changes = changes.replace(id_, number)
    return changes


async def _state(db: asyncpg.Connection, org_id: uuid.UUID, jobs: list[uuid.UUID]) -> Any:
    report = [
        [tuple(r) for r in await db.fetch(
            "SELECT row, outcome, equipment_number, reason FROM assets.import_rows "
            "WHERE import_id = $1 ORDER BY row", job)]
        for job in jobs
    ]  # fmt: skip
    counters = [
        tuple(await db.fetchrow(
            "SELECT total_rows, processed_rows, created, matched, possible_duplicates, rejected "
            "FROM assets.imports WHERE id = $1", job))
        for job in jobs
    ]  # fmt: skip
    assets = [tuple(r) for r in await db.fetch(
        "SELECT e.number, e.manufacturer, e.model, e.serial, e.serial_norm, e.name, e.location,"
        " e.criticality, e.status, e.retired_reason, e.ratings::text, e.installed_on,"
        " p.number AS parent, e.version FROM assets.equipment e"
        " LEFT JOIN assets.equipment p ON p.id = e.parent_id"
        " WHERE e.org_id = $1 ORDER BY e.number", org_id)]  # fmt: skip
    ids = {str(r[0]): r[1] for r in await db.fetch(
        "SELECT id, number FROM assets.equipment WHERE org_id = $1", org_id)}  # fmt: skip
    history = [(r[0], r[1], _numbered(r[2], ids), *r[3:]) for r in await db.fetch(
        "SELECT e.number, h.action, h.changes::text, h.reason, h.channel"
        " FROM assets.equipment_history h JOIN assets.equipment e ON e.id = h.equipment_id"
        " WHERE h.org_id = $1 ORDER BY e.number, h.id", org_id)]  # fmt: skip
    serial_keys = sorted(tuple(r) for r in await db.fetch(
        "SELECT k.k, k.serial_norm, e.number FROM assets.equipment_serial_key k"
        " JOIN assets.equipment e ON e.id = k.id WHERE k.org_id = $1", org_id))  # fmt: skip
    terms = sorted(tuple(r) for r in await db.fetch(
        "SELECT kind, norm, brand, display FROM assets.equipment_term WHERE org_id = $1",
        org_id))  # fmt: skip
    term_keys = sorted(tuple(r) for r in await db.fetch(
        "SELECT k, norm FROM assets.equipment_term_key WHERE org_id = $1", org_id))  # fmt: skip
    numbers = [tuple(r) for r in await db.fetch(
        "SELECT year, last FROM assets.equipment_numbers WHERE org_id = $1", org_id)]  # fmt: skip
    return {"report": report, "counters": counters, "assets": assets, "history": history,
            "serial_keys": serial_keys, "terms": terms, "term_keys": term_keys,
            "numbers": numbers}  # fmt: skip


async def test_chunks_and_single_rows_give_the_same_outcomes(
    services: ServiceSet, isolated_database: str
) -> None:
    first = sheet(seed=7, rows=700)
    # a second file on top of the first: its own new assets, repeats of the first file's
    # (serials rewritten or missing, model typos), parents among the first file's numbers
    parents = [f"EQ-{time.gmtime().tm_year}-{n:06d}" for n in (1, 2, 3, 5, 8, 13)]
    second = sheet(seed=7, rows=900, parents=parents)
    one, many = uuid.uuid4(), uuid.uuid4()
    jobs_one, events_one = await _import_files(
        services, isolated_database, one, [first, second], chunk=1
    )
    jobs_many, events_many = await _import_files(
        services, isolated_database, many, [first, second], chunk=64
    )
    db = await asyncpg.connect(isolated_database)
    try:
        row_by_row = await _state(db, one, jobs_one)
        chunked = await _state(db, many, jobs_many)
    finally:
        await db.close()
    outcomes = {o for report in row_by_row["report"] for _, o, _, _ in report}
    # the file exercises every outcome, and the rule set's corners
    assert outcomes == {"created", "matched", "possible_duplicates", "rejected"}, outcomes
    reasons = {r for report in row_by_row["report"] for *_, r in report if r}
    assert any(r.startswith("parent ") for r in reasons)
    assert any(h[1] == "enriched" for h in row_by_row["history"])
    for part in row_by_row:
        assert chunked[part] == row_by_row[part], part
    # one equipment.created per new asset, one equipment.matched per match, same contents
    created = sum(c[2] for c in row_by_row["counters"])
    matched = sum(c[3] for c in row_by_row["counters"])
    kinds = [e[0] for e in events_one]
    assert (kinds.count("equipment.created"), kinds.count("equipment.matched")) == (
        created,
        matched,
    )
    assert events_many == events_one


async def test_similarity_is_pg_trgm_similarity(isolated_database: str) -> None:
    """The chunk ranks same-brand models as ``repository.same_brand`` does in SQL."""
    codes = ["CR104", "CR1041", "CR14", "G120C", "6SL32101KE213UF1", "6SL32101KE213UF2",
             "A", "AB", "ABC", "ZZZZ", "W22", "W221", "25B4P0N114", "25BD4P0N114",
             "1756L71"]  # fmt: skip
    pairs = [(a, b) for a in codes for b in codes]
    db = await asyncpg.connect(isolated_database)
    try:
        await db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        rows = await db.fetch(
            "SELECT similarity(a, b) FROM unnest($1::text[], $2::text[]) AS p(a, b)",
            [a for a, _ in pairs],
            [b for _, b in pairs],
        )
    finally:
        await db.close()
    for (a, b), row in zip(pairs, rows, strict=True):
        assert abs(similarity(a, b) - row[0]) < 1e-6, (a, b, similarity(a, b), row[0])
