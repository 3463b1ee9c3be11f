"""Create-or-match for a chunk of imported rows: the rules of ``equipment.service``, with the
reads and writes of the whole chunk batched.

Every row gets the outcome the one-row path (``jobs.import_row``) would give it in file order,
in one transaction per chunk:

- the chunk's lock keys (the ones ``create_or_match`` takes) in one statement, sorted;
- the existing assets the chunk could meet in three reads: same serials (``= ANY``), the
  models of the chunk's brands with their counts, and up to 50 assets of each model that can
  still be among a row's 50 closest ones (``same_brand``'s order: trigram similarity of the
  model, then number; the similarity is pg_trgm's, computed here);
- the rows then decided in file order against those assets and the chunk's own earlier rows;
- new assets, their search index entries, their history and one ``equipment.created`` per
  asset written in a few statements. A match enriches an existing asset through the one-row
  code (``match_existing``: its update, history and ``equipment.matched``), after the chunk's
  pending new assets are written when it matches one of them;
- the rows' results and the job's counters in two statements.

A conflict this cannot decide (a concurrent change of a matched asset, a serial taken
meanwhile) rolls the chunk back; the caller then imports it row by row.
"""

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    Integer,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from rivet_contracts import ErrorCode, Events, ServiceError
from rivet_contracts.assets import (
    CreateEquipment,
    EquipmentCreated,
    EquipmentMatched,
    EquipmentStatus,
)
from rivet_contracts.refs import EQUIPMENT_PREFIX, format_number
from rivet_runtime import RequestContext

from ..equipment import lifecycle
from ..equipment import service as equipment
from ..equipment.views import snapshot_fields
from ..matching.rules import Record, Verdict, compare
from ..search import index as search_index
from ..state import AssetsState
from ..tables import equipment as equipment_table
from ..tables import equipment_history, equipment_numbers, import_rows, imports
from . import csvfile

Ctx = RequestContext[AssetsState]
log = logging.getLogger(__name__)
SAME_BRAND_LIMIT = 50
"""As ``repository.same_brand``: the closest assets of the brand a new record is scored on."""

_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
    "FROM (SELECT DISTINCT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS s"
)
_COUNTER = text(
    "INSERT INTO equipment_numbers (org_id, year, last) VALUES (:org_id, :year, 0) "
    "ON CONFLICT (org_id, year) DO UPDATE SET last = equipment_numbers.last RETURNING last"
)
LIGHT = ("id", "number", "version", "manufacturer", "manufacturer_key", "model", "model_norm",
         "serial", "serial_norm", "name", "equipment_type", "location", "department",
         "criticality", "status", "parent_id", "installed_on", "photo_ref", "ratings")  # fmt: skip
"""The columns a stored asset is scored, enriched and announced on (``ratings`` as text, read
only for the assets matched)."""
_COLUMNS = ", ".join(f"e.{name}" if name != "ratings" else "e.ratings::text AS ratings"
                     for name in LIGHT)  # fmt: skip
_CLOSEST = text(
    f"""
    SELECT p.n, {_COLUMNS} FROM unnest(CAST(:brands AS text[]), CAST(:models AS text[]))
        WITH ORDINALITY AS p(brand, model, n)
    CROSS JOIN LATERAL (
        SELECT * FROM equipment e
        WHERE e.org_id = :org_id AND e.manufacturer_key = p.brand AND e.model_norm = p.model
        ORDER BY e.number LIMIT :limit) AS e
    """  # noqa: S608 - the column names are the table's own
).columns(
    column("n", Integer),
    *(equipment_table.c[name] if name != "ratings" else column("ratings", Text) for name in LIGHT),
)


def _texts(values: list[str]) -> Any:
    return bindparam(None, values, type_=ARRAY(Text))


@lru_cache(maxsize=65536)
def trigrams(code: str) -> frozenset[str]:
    """pg_trgm's trigrams of a normalized code (one word of letters and digits: lower-cased,
    two blanks before and one after)."""
    padded = f"  {code.lower()} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@lru_cache(maxsize=262144)
def similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity`` of two normalized codes."""
    x, y = trigrams(a), trigrams(b)
    common = len(x & y)
    return common / (len(x) + len(y) - common) if x or y else 0.0


@dataclass
class Result:
    line: int
    outcome: str
    equipment_id: UUID | None = None
    equipment_number: str | None = None
    reason: str | None = None


@dataclass
class _Chunk:
    """What the chunk knows of the organization's assets, kept current as rows are decided."""

    rows: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    """asset id -> its row as it is now (pending new ones included)"""
    by_serial: dict[str, UUID] = field(default_factory=dict)
    models: dict[str, Counter[str]] = field(default_factory=dict)
    """brand -> model -> stored assets (at the chunk's start)"""
    closest: dict[tuple[str, str], list[UUID]] = field(default_factory=dict)
    """(brand, model) -> up to 50 stored assets by number (those a row can still meet)"""
    touched: dict[str, dict[str, set[UUID]]] = field(default_factory=dict)
    """brand -> assets with a model created or enriched by this chunk"""
    created: list[dict[str, Any]] = field(default_factory=list)
    """new assets as created, in order"""
    enriched: dict[UUID, int] = field(default_factory=dict)
    """assets a match enriched -> their version before this chunk"""
    serial_filled: set[UUID] = field(default_factory=set)
    history: list[tuple[UUID, dict[str, Any]]] = field(default_factory=list)
    """"enriched" history entries, in order"""
    matched: list[tuple[EquipmentMatched, UUID | None]] = field(default_factory=list)
    """``equipment.matched`` events, in order"""
    numbers: dict[str, UUID] = field(default_factory=dict)
    """equipment numbers given by this chunk"""
    ranked: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    order: dict[tuple[str, str], tuple[int, list[str]]] = field(default_factory=dict)
    """(brand, model) -> (models of the brand, those models by similarity)"""

    def know(self, row: dict[str, Any], *, touched: bool) -> None:
        self.rows[row["id"]] = row
        if row["serial_norm"]:
            self.by_serial.setdefault(row["serial_norm"], row["id"])
        if touched and row["model_norm"]:
            models = self.touched.setdefault(row["manufacturer_key"], {})
            models.setdefault(row["model_norm"], set()).add(row["id"])

    def ranking(self, brand: str, model: str) -> list[str]:
        """The stored models of ``brand`` whose assets can be among ``model``'s 50 closest."""
        key = (brand, model)
        if key not in self.ranked:
            self.ranked[key] = _closest_models(self.models.get(brand, Counter()), model)
        return self.ranked[key]

    def same_brand(self, brand: str, model: str) -> list[dict[str, Any]]:
        """``repository.same_brand`` as the database would answer it now."""
        touched = self.touched.get(brand, {})
        cached = self.order.get((brand, model))
        if cached is None or cached[0] != len(touched):  # a model new to the brand
            names = set(self.models.get(brand, ())) | set(touched)
            cached = (len(touched), sorted(names, key=lambda m: -similarity(m, model)))
            self.order[brand, model] = cached
        order = cached[1]
        out: list[dict[str, Any]] = []
        i = 0
        while i < len(order) and len(out) < SAME_BRAND_LIMIT:
            # the models as close as order[i]: their assets in number order (the stored ones
            # read are the first 50 of each model, all a row can reach)
            score = similarity(order[i], model)
            ids: set[UUID] = set()
            while i < len(order) and similarity(order[i], model) == score:
                ids.update(self.closest.get((brand, order[i]), ()))
                ids.update(touched.get(order[i], ()))
                i += 1
            out.extend(sorted((self.rows[x] for x in ids), key=lambda r: r["number"]))
        return out[:SAME_BRAND_LIMIT]


def _closest_models(models: Counter[str], model: str) -> list[str]:
    """The stored models whose assets can be among the 50 closest to ``model``: by similarity,
    until 50 assets, and every model as close as the last one taken."""
    ranked = sorted(models, key=lambda m: -similarity(m, model))
    taken: list[str] = []
    count, last = 0, None
    for stored in ranked:
        score = similarity(stored, model)
        if count >= SAME_BRAND_LIMIT and score != last:
            break
        taken.append(stored)
        count += models[stored]
        last = score
    return taken


def _retired_reason(job: RowMapping, line: int) -> str:
    return f"retired in the imported register ({job['filename'] or 'upload'}, row {line})"


async def import_chunk(
    ctx: Ctx, who: equipment.Who, job: RowMapping, items: list[tuple[int, dict[str, Any] | str]]
) -> list[Result]:
    """Decide and write ``items`` (line, raw values or the reason the row cannot be read) in
    the caller's transaction; their results are recorded with the job's counters."""
    conn = ctx.conn
    settings = ctx.state.settings
    org = who.org_id
    started = time.perf_counter()
    requests: list[tuple[int, CreateEquipment | str, str | None]] = []
    for line, values in items:
        request = csvfile.to_request(values) if isinstance(values, dict) else values
        parent = None
        if isinstance(request, CreateEquipment) and isinstance(values, dict):
            parent = values["parent"].upper() if values.get("parent") else None
        requests.append((line, request, parent))
    valid = [(line, r, p, equipment.normalized(r)) for line, r, p in requests
             if isinstance(r, CreateEquipment)]  # fmt: skip

    keys = [v["serial_norm"] or f"{v['manufacturer_key']}|{v['model_norm']}" for *_, v in valid]
    if keys:
        await conn.execute(_LOCK, {"keys": keys})
    state = _Chunk()
    await _load(conn, org, state, valid)
    year = datetime.now(UTC).year
    last = int((await conn.execute(_COUNTER, {"org_id": org, "year": year})).scalar_one())
    parents = await _parents(conn, org, {p for _, _, p, _ in valid if p})
    loaded = time.perf_counter()

    results: list[Result] = []
    normalized = {line: v for line, _, _, v in valid}
    auto, review = settings.match_auto_threshold, settings.match_review_threshold
    for line, request, parent in requests:
        if isinstance(request, str):
            results.append(Result(line, "rejected", reason=request))
            continue
        values = normalized[line]
        if parent is not None:
            parent_id = parents.get(parent) or state.numbers.get(parent)
            if parent_id is None:
                results.append(Result(line, "rejected", reason=f"parent {parent} not found"))
                continue
            values = values | {"parent_id": parent_id}
        serial, model = values["serial_norm"], values["model_norm"]
        brand = values["manufacturer_key"]
        if serial and serial in state.by_serial:
            results.append(_match(who, state, line, state.by_serial[serial], values))
            continue
        if model and not request.create_anyway:
            new = Record(brand, model, serial, request.location, request.name)
            verdicts: list[tuple[dict[str, Any], Verdict]] = []
            for row in state.same_brand(brand, model):
                if serial and row["serial_norm"] and row["serial_norm"] != serial:
                    continue  # two different serials: never the same asset (``compare``)
                verdict = compare(new, _record_of(row), auto=auto, review=review)
                if verdict.candidate:
                    verdicts.append((row, verdict))
            verdicts.sort(key=lambda v: (-v[1].same, -v[1].score))
            same = [v for v in verdicts if v[1].same]
            if len(same) == 1:
                row, verdict = same[0]
                results.append(_match(who, state, line, row["id"], values, verdict.score))
                continue
            if verdicts:
                numbers = ", ".join(row["number"] for row, _ in verdicts[:5])
                results.append(
                    Result(line, "possible_duplicates", reason=f"possible duplicate of {numbers}")
                )
                continue
        reason = _retired_reason(job, line)
        try:
            lifecycle.check_new(request.status, who.role, reason)
        except ServiceError as exc:
            results.append(Result(line, "rejected", reason=exc.info.message))
            continue
        retired = reason if request.status == EquipmentStatus.RETIRED else None
        last += 1
        row = values | {
            "retired_reason": retired,
            "id": uuid4(),
            "org_id": org,
            "number": format_number(EQUIPMENT_PREFIX, year, last),
            "source": who.source.value,
            "created_by": who.user_id,
        }
        row["version"] = 1
        state.know(row, touched=True)
        state.created.append(row)
        state.numbers[row["number"]] = row["id"]
        results.append(Result(line, "created", row["id"], row["number"]))
    decided = time.perf_counter()
    await _write(ctx, who, state)
    if state.numbers:
        await conn.execute(
            update(equipment_numbers)
            .where(equipment_numbers.c.org_id == org, equipment_numbers.c.year == year)
            .values(last=last)
        )
    await _save(conn, job["id"], results)
    log.debug(
        "import %s: %d rows, %d stored assets read; read %.0f ms, decided %.0f ms, wrote %.0f ms",
        job["id"], len(items), len(state.rows), 1000 * (loaded - started),
        1000 * (decided - loaded), 1000 * (time.perf_counter() - decided),
    )  # fmt: skip
    return results


def _record_of(row: dict[str, Any]) -> Record:
    return Record(
        row["manufacturer_key"], row["model_norm"], row["serial_norm"], row["location"], row["name"]
    )


async def _load(
    conn: AsyncConnection,
    org: UUID,
    state: _Chunk,
    valid: list[tuple[int, CreateEquipment, str | None, dict[str, Any]]],
) -> None:
    """The stored assets the chunk can meet (see the module's docstring)."""
    e = equipment_table.c
    serials = sorted({v["serial_norm"] for *_, v in valid if v["serial_norm"]})
    if serials:
        where = (e.org_id == org, e.serial_norm == any_(_texts(serials)))
        light = [e[n] if n != "ratings" else cast(e.ratings, Text).label(n) for n in LIGHT]
        query = select(*light).where(*where)
        for row in (await conn.execute(query)).mappings():
            state.know(dict(row), touched=False)
    wanted = {(v["manufacturer_key"], v["model_norm"]) for _, r, _, v in valid
              if v["model_norm"] and not r.create_anyway}  # fmt: skip
    brands = sorted({b for b, _ in wanted})
    if not brands:
        return
    counts = (
        select(e.manufacturer_key, e.model_norm, func.count())
        .where(e.org_id == org, e.manufacturer_key == any_(_texts(brands)))
        .where(e.model_norm.is_not(None))
        .group_by(e.manufacturer_key, e.model_norm)
    )
    for brand, model, count in (await conn.execute(counts)).all():
        state.models.setdefault(brand, Counter())[model] = count
    needed = sorted({(brand, stored) for brand, model in wanted
                     for stored in state.ranking(brand, model)})  # fmt: skip
    if not needed:
        return
    params = {
        "brands": [b for b, _ in needed],
        "models": [m for _, m in needed],
        "org_id": org,
        "limit": SAME_BRAND_LIMIT,
    }
    for row in (await conn.execute(_CLOSEST, params)).mappings():
        values = {name: row[name] for name in LIGHT}
        brand_model = needed[row["n"] - 1]
        state.closest.setdefault(brand_model, []).append(values["id"])
        if values["id"] not in state.rows:
            state.know(values, touched=False)


async def _parents(conn: AsyncConnection, org: UUID, numbers: set[str]) -> dict[str, UUID]:
    if not numbers:
        return {}
    e = equipment_table.c
    query = select(e.number, e.id).where(e.org_id == org, e.number == any_(_texts(sorted(numbers))))
    return {str(number): id_ for number, id_ in (await conn.execute(query)).all()}


def _match(
    who: equipment.Who,
    state: _Chunk,
    line: int,
    target: UUID,
    values: dict[str, Any],
    score: float = 100.0,
) -> Result:
    """A match, as ``service.match_existing`` makes it: the asset gets what it lacked (a new
    version, an "enriched" history entry) and ``equipment.matched`` is announced; written with
    the chunk."""
    row = state.rows[target]
    if isinstance(row["ratings"], str):
        row["ratings"] = json.loads(row["ratings"])
    fill = {k: values[k] for k in equipment.ENRICHABLE if row[k] in (None, "") and values.get(k)}
    for code in ("serial", "model"):
        if fill.get(code):
            fill[f"{code}_norm"] = values[f"{code}_norm"]
    ratings = {**values.get("ratings", {}), **(row["ratings"] or {})}
    if ratings != (row["ratings"] or {}):
        fill["ratings"] = ratings
    if fill:
        changes = {k: [equipment._plain(row[k]), equipment._plain(v)]
                   for k, v in fill.items() if not k.endswith("_norm")}  # fmt: skip
        state.history.append((target, changes))
        state.enriched.setdefault(target, row["version"])
        if fill.get("serial"):
            state.serial_filled.add(target)
        row = row | fill | {"version": row["version"] + 1}
        state.know(row, touched=True)
    enriched = sorted(k for k in fill if not k.endswith("_norm"))
    event = EquipmentMatched(**snapshot_fields(row), score=score, enriched=enriched)  # type: ignore[arg-type]
    state.matched.append((event, who.org_id))
    return Result(line, "matched", row["id"], row["number"])


_UPDATE = text(
    """
    UPDATE equipment e SET model = u.model, model_norm = u.model_norm, serial = u.serial,
        serial_norm = u.serial_norm, name = u.name, equipment_type = u.equipment_type,
        location = u.location, department = u.department, installed_on = u.installed_on,
        photo_ref = u.photo_ref, parent_id = u.parent_id, ratings = CAST(u.ratings AS jsonb),
        version = u.version, updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:before AS int[]), CAST(:version AS int[]),
                CAST(:model AS text[]), CAST(:model_norm AS text[]), CAST(:serial AS text[]),
                CAST(:serial_norm AS text[]), CAST(:name AS text[]),
                CAST(:equipment_type AS text[]), CAST(:location AS text[]),
                CAST(:department AS text[]), CAST(:installed_on AS date[]),
                CAST(:photo_ref AS text[]), CAST(:parent_id AS uuid[]), CAST(:ratings AS text[]))
        AS u(id, before, version, model, model_norm, serial, serial_norm, name, equipment_type,
             location, department, installed_on, photo_ref, parent_id, ratings)
    WHERE e.org_id = :org_id AND e.id = u.id AND e.version = u.before
    RETURNING e.id
    """
)
_ENRICHED_COLUMNS = ("model", "model_norm", "serial", "serial_norm", "name",
                     "equipment_type", "location", "department", "installed_on", "photo_ref",
                     "parent_id")  # fmt: skip


async def _write(ctx: Ctx, who: equipment.Who, state: _Chunk) -> None:
    """The chunk's writes: new assets (rows, history, ``equipment.created``), then the matches'
    enrichments (one version-checked update; an asset changed meanwhile fails the chunk), their
    history and ``equipment.matched``, and the search index of both."""
    conn = ctx.conn
    org = who.org_id
    created = state.created
    if created:
        await conn.execute(insert(equipment_table), created)
    if state.enriched:
        rows = [state.rows[i] for i in state.enriched]
        params: dict[str, Any] = {
            "org_id": org,
            "ids": [r["id"] for r in rows],
            "before": [state.enriched[r["id"]] for r in rows],
            "version": [r["version"] for r in rows],
            "ratings": [json.dumps(r["ratings"] or {}) for r in rows],
        }
        for name in _ENRICHED_COLUMNS:
            params[name] = [r[name] for r in rows]
        done = (await conn.execute(_UPDATE, params)).all()
        if len(done) != len(rows):
            raise ServiceError(ErrorCode.CONFLICT, "assets changed meanwhile")
    new_ids = {r["id"] for r in created}
    indexed = [state.rows[r["id"]] for r in created]
    indexed += [state.rows[i] for i in state.enriched if i not in new_ids]
    keyed = new_ids | state.serial_filled
    if indexed:
        await search_index.add_many(conn, org, indexed, keyed=keyed)
    history = []
    for values in created:
        shown = {k: v for k, v in values.items() if k not in _NOT_SHOWN}
        changes = {k: [None, equipment._plain(v)] for k, v in shown.items()
                   if v not in (None, {}, "")}  # fmt: skip
        history.append({
            "equipment_id": values["id"], "org_id": org, "actor_id": who.user_id,
            "channel": ctx.channel, "action": "created", "changes": changes,
            "reason": values["retired_reason"],
        })  # fmt: skip
    for target, changes in state.history:
        history.append({
            "equipment_id": target, "org_id": org, "actor_id": who.user_id,
            "channel": ctx.channel, "action": "enriched", "changes": changes, "reason": None,
        })  # fmt: skip
    if history:
        await conn.execute(insert(equipment_history), history)
    if created:
        await ctx.emit_many(
            Events.EQUIPMENT_CREATED,
            [(EquipmentCreated(**snapshot_fields(row), source=who.source), org)  # type: ignore[arg-type]
             for row in created],
        )  # fmt: skip
    if state.matched:
        await ctx.emit_many(Events.EQUIPMENT_MATCHED, state.matched)


_NOT_SHOWN = frozenset({"id", "org_id", "number", "source", "created_by", "version"})
"""Columns a new asset's "created" history entry leaves out (as ``service._create`` does)."""


async def _save(conn: AsyncConnection, import_id: UUID, results: list[Result]) -> None:
    """The rows' results and the job's counters."""
    if not results:
        return
    await conn.execute(
        insert(import_rows),
        [{"import_id": import_id, "row": r.line, "outcome": r.outcome,
          "equipment_id": r.equipment_id, "equipment_number": r.equipment_number,
          "reason": r.reason} for r in results],
    )  # fmt: skip
    counts = Counter(r.outcome for r in results)
    c = imports.c
    await conn.execute(
        update(imports)
        .where(c.id == import_id)
        .values({c.processed_rows: c.processed_rows + len(results)}
                | {c[o]: c[o] + n for o, n in counts.items()})
    )  # fmt: skip
