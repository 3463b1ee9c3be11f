"""The search index itself: the pigeonhole guarantee, and migration 0002 on a populated schema
(backfill equal to what the application writes, SQL keys equal to Python keys, idempotent);
migration 0003 (history reasons) on a populated schema too."""

import random
import string
import uuid
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text

from rivet_assets.main import MIGRATIONS
from rivet_assets.matching import normalize
from rivet_assets.search import index, keys, service
from rivet_assets.search.keys import code_keys, query_keys
from rivet_runtime.db import Database
from rivet_runtime.migrations import alembic_config, migrate

ALNUM = string.ascii_uppercase + string.digits


def _edit(rng: random.Random, s: str, op: str) -> str:
    i = rng.randrange(len(s))
    if op == "sub":
        return s[:i] + rng.choice(ALNUM.replace(s[i], "")) + s[i + 1 :]
    if op == "del":
        return s[:i] + s[i + 1 :]
    if op == "ins":
        return s[:i] + rng.choice(ALNUM) + s[i:]
    i = min(i, len(s) - 2)  # transposition
    return s[:i] + s[i + 1] + s[i] + s[i + 2 :]


def test_keys_find_every_code_within_two_edits_or_a_transposition() -> None:
    rng = random.Random(5)
    for _ in range(4000):
        stored = "".join(rng.choice(ALNUM) for _ in range(rng.randint(3, 20)))
        if rng.random() < 0.2:
            typed = _edit(rng, stored, "trans")
        else:
            typed = stored
            for _ in range(rng.randint(1, 2)):
                typed = _edit(rng, typed, rng.choice(["sub", "del", "ins"]))
        if not typed:
            continue
        assert set(code_keys(stored)) & query_keys(typed), (stored, typed)
    # and unrelated codes of the same length rarely share a key
    assert not set(code_keys("6SL32101KE213UF1")) & query_keys("3AUA0000080123")


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config(MIGRATIONS, "assets")).get_current_head()
    assert head is not None
    return head


async def _upgrade_to(url: str, revision: str) -> None:
    await migrate(url, "assets", MIGRATIONS, revision=revision)


def _row(org: uuid.UUID, i: int, make: str, model: str | None, serial: str | None,
         location: str | None, kind: str | None = None) -> dict[str, Any]:  # fmt: skip
    manufacturer, key = normalize.manufacturer(make)
    return {
        "id": uuid.uuid4(), "org_id": org, "number": f"EQ-2026-{i:06d}",
        "manufacturer": manufacturer, "manufacturer_key": key, "model": model,
        "model_norm": normalize.code(model), "serial": serial,
        "serial_norm": normalize.code(serial), "location": location, "source": "api",
        "equipment_type": kind,
    }  # fmt: skip


async def test_migration_backfills_a_populated_schema(isolated_database: str) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    rows = [
        _row(
            org,
            1,
            "Allen Bradley",
            "PowerFlex 525",
            "B7K22190",
            "Plant 1 / Line 3 / Pump room",
            "Drive",
        ),
        _row(
            org,
            2,
            "Siemens",
            "6SL3210-1KE21-3UF1",
            "XAJ7-123-4567",
            "Plant 1 /  Line 4",
            " Frequency   converter",
        ),
        _row(org, 3, "Siemens", "6SL3210-1KE21-3UF1", "A12", None),  # short serial
        _row(org, 4, "Weidmüller", None, None, "Hall 2"),  # unknown brand, nothing else
        _row(other, 1, "Siemens", "6SL3210-1KE21-3UF1", "XAJ7-123-4568", "Plant 9"),
        _row(org, 5, "ABB", None, None, "Plant 1 / Line 40"),  # "line 4" must not find it
    ]
    await _upgrade_to(isolated_database, "0001")
    columns = list(rows[0])
    db = Database(isolated_database, "assets", pool_size=1)
    try:
        async with db.transaction() as conn:
            for r in rows:
                await conn.execute(
                    text(f"INSERT INTO equipment ({', '.join(columns)}) VALUES "
                         f"({', '.join(':' + c for c in columns)})"), r,
                )  # fmt: skip
        await migrate(isolated_database, "assets", MIGRATIONS)
        await migrate(isolated_database, "assets", MIGRATIONS)  # a second run changes nothing
        async with db.transaction() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert [v[0] for v in version] == [_head()]
            serial_keys = {
                tuple(x)
                for x in (
                    await conn.execute(
                        text("SELECT org_id, k, serial_norm, id FROM equipment_serial_key")
                    )
                ).all()
            }
            terms = {
                tuple(x)
                for x in (
                    await conn.execute(
                        text("SELECT org_id, kind, norm, brand, display FROM equipment_term")
                    )
                ).all()
            }
            term_keys = {
                tuple(x)
                for x in (
                    await conn.execute(text("SELECT org_id, k, norm FROM equipment_term_key"))
                ).all()
            }
            # the SQL key function (used by the backfill) is the Python one
            for code in ("A", "A12", "ABCDE", "ABCDEF", "6SL32101KE213UF1", "XAJ71234567"):
                got = (
                    await conn.execute(text("SELECT search_code_keys(:c)"), {"c": code})
                ).scalar()
                assert sorted(got) == code_keys(code), code
            # the stored facets (migration 0006) are the Python tokens
            for brand, kind, place in [
                ("abb", " Frequency   converter", "Plant 1 /  Line 4"),
                ("weidmuller", None, "Hall-2/ Äbc x//"),
                ("", "Pump", None),
            ]:
                got = (
                    await conn.execute(
                        text("SELECT search_facets(:b, :k, :l)"),
                        {"b": brand, "k": kind, "l": place},
                    )
                ).scalar()
                assert got == keys.facet_tokens(brand, kind, place), (brand, kind, place)
    finally:
        await db.dispose()
    want_serial = {
        (r["org_id"], k, r["serial_norm"], r["id"])
        for r in rows if r["serial_norm"]
        for k in code_keys(r["serial_norm"])
    }  # fmt: skip
    assert serial_keys == want_serial
    want_terms = {(r["org_id"], *t) for r in rows for t in index.terms(r)}
    assert terms == want_terms
    assert ("l", "LINE4", "", "Line 4") in {t[1:] for t in terms}
    assert ("t", "FREQUENCYCONVERTER", "", "Frequency converter") in {t[1:] for t in terms}
    want_term_keys = {
        (r["org_id"], k, r["model_norm"]) for r in rows if r["model_norm"]
        for k in code_keys(r["model_norm"])
    }  # fmt: skip
    assert term_keys == want_term_keys

    # the backfilled index serves searches, scoped to the organization
    db = Database(isolated_database, "assets", pool_size=1)
    try:
        async with db.transaction() as conn:
            hits = await service.find(conn, org, "XAJ7-123-4568", 10)
            assert [h.id for h in hits][:1] == [rows[1]["id"]]
            assert rows[4]["id"] not in {h.id for h in hits}
            hits = await service.find(conn, org, "alen bradly powerflex 525 pump room", 10)
            assert [h.id for h in hits][:1] == [rows[0]["id"]]
            hits = await service.find(conn, org, "A1Z", 10)  # short serial, one typo
            assert rows[2]["id"] in {h.id for h in hits}
            hits = await service.find(conn, org, "frequency converters", 10)  # a type
            assert [h.id for h in hits][:1] == [rows[1]["id"]]
            hits = await service.find(conn, org, "weidmuller", 10)  # a brand alone
            assert [h.id for h in hits][:1] == [rows[3]["id"]]
            hits = await service.find(conn, org, "line 4", 10)  # a whole segment, not Line 40
            assert [h.id for h in hits] == [rows[1]["id"]]
            hits = await service.find(conn, org, "line 40", 10)
            assert [h.id for h in hits] == [rows[5]["id"]]
    finally:
        await db.dispose()


async def test_migration_0003_keeps_the_reason_of_past_retirements(isolated_database: str) -> None:
    org = uuid.uuid4()
    asset = _row(org, 1, "Baldor", "EM3615T", "BD-1", None) | {"status": "retired"}
    await _upgrade_to(isolated_database, "0002")
    db = Database(isolated_database, "assets", pool_size=1)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                text(f"INSERT INTO equipment ({', '.join(asset)}) VALUES "
                     f"({', '.join(':' + c for c in asset)})"), asset,
            )  # fmt: skip
            for action, changes in (
                ("created", '{"serial": [null, "BD-1"]}'),
                (
                    "retired",
                    '{"status": ["in_service", "retired"], "retired_reason": [null, "flood"]}',
                ),
            ):
                await conn.execute(
                    text("INSERT INTO equipment_history (equipment_id, org_id, action, changes) "
                         "VALUES (:e, :o, :a, CAST(:c AS jsonb))"),
                    {"e": asset["id"], "o": org, "a": action, "c": changes},
                )  # fmt: skip
        await migrate(isolated_database, "assets", MIGRATIONS)
        async with db.transaction() as conn:
            reasons = (
                await conn.execute(text("SELECT action, reason FROM equipment_history ORDER BY id"))
            ).all()
        assert [tuple(r) for r in reasons] == [("created", None), ("retired", "flood")]
    finally:
        await db.dispose()
