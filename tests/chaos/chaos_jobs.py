"""Background work across replicas: a CSV import under load, and periodic jobs, each done once.

**Import.** ``CsvImport`` registers an organization of its own, uploads a CSV of ``rows`` new
assets (unique serials) through the gateway while the chaos load runs, follows the job and,
after the run, proves from the database and the EQUIPMENT stream that every row was imported
exactly once: each serial is one asset, each row of each job has one result, one
``equipment.created`` event and one ``created`` history entry per new asset, and the work-order
service's replica holds each of them. A repeated upload (after a 5xx or a timeout) is a second
job whose rows are matched by serial, never created twice. ``holder`` finds the assets replica
that is importing right now (the ``kill -9`` target that makes another replica take the job
over when its lease runs out).

**Periodic jobs.** ``read_jobs`` reads ``<schema>.job_runs`` (one row per job and schema:
``runs`` grows by one per claimed pass, whichever replica claimed it) and each process's
``rivet_job_runs_total`` and ``rivet_job_period_seconds`` (the job in label ``task``);
``check_jobs`` asserts ``runs - failures <= elapsed / period + 1``, both since the cluster's
start and since a ``baseline`` read once every service was up (tighter: it leaves out the
start-up), and that the processes together report no more successful passes than were claimed.
``read_jobs`` returns None while no schema has the table.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import nats
from chaos_cluster import SCHEMAS, Cluster
from chaos_scenario import Fault
from chaos_verify import fetch
from chaos_workload import BRANDS, PASSWORD
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

IMPORT_TABLES = ("import_jobs", "imports")
"""The import jobs' table in the assets schema (renamed to ``import_jobs`` by the job runner)."""
PERIOD_COLUMNS = ("period_seconds", "every_seconds", "interval_seconds", "period", "every")
"""Columns of ``job_runs`` that may hold a job's period (seconds, or an interval), where
``rivet_job_period_seconds`` does not say it."""
OK_RESULTS = ("ok", "success", "succeeded")
JOB_PERIODS_ENV = "RIVET_CHAOS_JOB_PERIODS"
"""``name=seconds,schema.name=seconds``: periods of jobs whose table has no period column."""


@dataclass
class Checked:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


# --- the import ---------------------------------------------------------------------------


@dataclass
class CsvImport:
    base_url: str
    rows: int
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    email: str = ""
    token: str = ""
    org_id: str = ""
    posts: list[str] = field(default_factory=list)
    """Outcome of each upload attempt."""
    job_ids: list[str] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)
    """The last status read of the accepted job."""
    accepted_at: float | None = None
    finished_at: float | None = None
    task: asyncio.Task[None] | None = None
    asset_ids: set[str] = field(default_factory=set)
    """The import organization's assets, as checked."""

    def serial(self, number: int) -> str:
        return f"IM{self.run}-{number:06d}"

    def csv(self) -> bytes:
        lines = ["Make,Model,Serial Number,Name,Location,Criticality"]
        for n in range(1, self.rows + 1):
            lines.append(
                f"{BRANDS[n % len(BRANDS)]},IMP {n % 97}-{n},{self.serial(n)},"
                f"Imported pump {n},Import bay {n % 5},{('low', 'high')[n % 2]}"
            )
        return ("\n".join(lines) + "\n").encode()

    # --- driving it -------------------------------------------------------------------

    async def setup(self) -> None:
        """An organization (its admin may import) of its own, so the load's checks of the
        chaos organization see none of these assets."""
        self.email = f"import-{self.run}@example.com"
        body = {
            "email": self.email,
            "password": PASSWORD,
            "full_name": "Import Admin",
            "organization_name": f"Import {self.run}",
        }
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            for _ in range(60):
                try:
                    answer = await client.post("/api/auth/register", json=body)
                except httpx.HTTPError:
                    await asyncio.sleep(1)
                    continue
                if answer.status_code in (201, 409):
                    break
                await asyncio.sleep(1)
            else:
                raise RuntimeError("could not register the import organization")
            await self._login(client)
            me = await client.get("/api/auth/me", headers=self._headers())
            me.raise_for_status()
            self.org_id = me.json()["org_id"]

    async def _login(self, client: httpx.AsyncClient) -> None:
        for _ in range(60):
            try:
                answer = await client.post(
                    "/api/auth/login", data={"username": self.email, "password": PASSWORD}
                )
            except httpx.HTTPError:
                await asyncio.sleep(1)
                continue
            if answer.status_code == 200:
                self.token = answer.json()["access_token"]
                return
            await asyncio.sleep(1)
        raise RuntimeError("could not log in as the import admin")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> Fault:
        """A scheduled step (not a fault): upload the file, then follow the job in the
        background; ``finish`` waits for it."""

        async def act(cluster: Cluster) -> str:
            t0 = time.monotonic()
            await self._upload()
            self.task = asyncio.create_task(self._follow(), name="chaos-import")
            return (
                f"job {self.job_ids[-1][:8]} accepted in {time.monotonic() - t0:.1f} s "
                f"({'; '.join(self.posts)})"
            )

        return Fault(0, f"CSV import of {self.rows} rows", act)

    async def _upload(self) -> None:
        data = self.csv()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            for attempt in range(1, 11):
                try:
                    answer = await client.post(
                        "/api/equipment/import",
                        params={"wait": 0},
                        headers=self._headers(),
                        files={"file": (f"import-{self.run}.csv", data, "text/csv")},
                    )
                except httpx.HTTPError as exc:
                    # maybe accepted: a repeat is a second job, matched row by row by serial
                    self.posts.append(f"attempt {attempt}: {type(exc).__name__}")
                    await asyncio.sleep(2)
                    continue
                self.posts.append(f"attempt {attempt}: {answer.status_code}")
                if answer.status_code in (200, 202):
                    self.job_ids.append(answer.json()["id"])
                    self.accepted_at = time.monotonic()
                    return
                if answer.status_code < 500 and answer.status_code not in (408, 429):
                    raise RuntimeError(f"import refused: {answer.status_code} {answer.text[:300]}")
                await asyncio.sleep(2)
        raise RuntimeError(f"the import was never accepted: {self.posts}")

    async def _follow(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            while True:
                try:
                    answer = await client.get(
                        f"/api/equipment/import/{self.job_ids[-1]}",
                        params={"rows_limit": 0},
                        headers=self._headers(),
                    )
                    if answer.status_code == 401:
                        await self._login(client)
                    elif answer.status_code in (200, 202):
                        self.view = answer.json()
                        if self.view["status"] in ("done", "failed"):
                            self.finished_at = time.monotonic()
                            return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)

    def processed(self) -> int:
        return int(self.view.get("processed_rows", 0))

    async def finish(self, timeout: float = 300.0) -> str:
        """Wait until the job is done (an ``after_load`` step); says how it went."""
        if self.task is None:
            return "import NOT STARTED"
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            return f"import NOT FINISHED after {timeout:.0f} s more: {self._progress()}"
        assert self.accepted_at is not None
        assert self.finished_at is not None
        return (
            f"import {self.view['status']} {self.finished_at - self.accepted_at:.1f} s after it "
            f"was accepted: {self._progress()}"
        )

    def _progress(self) -> str:
        v = self.view
        return (
            f"{v.get('processed_rows', 0)}/{v.get('total_rows', '?')} rows, created "
            f"{v.get('created', 0)}, matched {v.get('matched', 0)}, possible duplicates "
            f"{v.get('possible_duplicates', 0)}, rejected {v.get('rejected', 0)}"
        )

    async def holder(self, cluster: Cluster) -> tuple[str, str]:
        """The assets replica importing right now (seen in ``pg_stat_activity`` writing the
        import's rows), once at least a tenth of the rows are done; another replica if none
        is found within 60 s."""
        replicas = cluster.replicas_of("assets")
        deadline = time.monotonic() + 60
        while self.processed() < max(1, self.rows // 10) and time.monotonic() < deadline:
            if self.finished_at is not None:
                break
            await asyncio.sleep(0.1)
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            while time.monotonic() < deadline and self.finished_at is None:
                for row in await db.fetch(
                    "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
                    " AND client_port IS NOT NULL AND query ~* $1",
                    r"^\s*(insert\s+into|update)\s+(\"?assets\"?\.)?\"?import_",
                ):
                    name = await asyncio.to_thread(cluster.owner_of_connection, row["client_port"])
                    if name in replicas:
                        return name, f" (importing: row {self.processed()} of {self.rows})"
                await asyncio.sleep(0.05)
        finally:
            await db.close()
        return replicas[-1], " (no replica seen importing: import finished or not started)"

    # --- checking it ------------------------------------------------------------------

    async def check(self, cluster: Cluster) -> Checked:
        checked = Checked()
        db = await asyncpg.connect(cluster.database_url, timeout=10)
        try:
            await self._check_db(db, checked)
        finally:
            await db.close()
        await self._check_events(cluster, checked)
        return checked

    async def _check_db(self, db: asyncpg.Connection, checked: Checked) -> None:
        lost, duplicated = checked.lost, checked.duplicated
        jobs_table = await _first_table(db, "assets", IMPORT_TABLES)
        assert jobs_table is not None, f"no assets.{' or assets.'.join(IMPORT_TABLES)}"
        rows_table = "import_rows"
        job_column = await _first_column(db, "assets", rows_table, ("import_id", "job_id"))
        jobs = await db.fetch(
            f"SELECT * FROM assets.{jobs_table} WHERE org_id = $1",
            uuid.UUID(self.org_id),
        )
        checked.figures["import jobs"] = len(jobs)
        if not jobs:
            lost.append("import: no job in the database")
            return
        created_rows: Counter[str] = Counter()
        for job in jobs:
            name = f"import job {str(job['id'])[:8]}"
            if job["status"] != "done":
                lost.append(f"{name}: ended {job['status']} ({job.get('error')})")
            rows = await db.fetch(
                f"SELECT row, outcome, equipment_id FROM assets.{rows_table} "
                f"WHERE {job_column} = $1",
                job["id"],
            )
            lines = Counter(r["row"] for r in rows)
            doubled = [line for line, n in lines.items() if n > 1]
            if doubled:
                duplicated.append(f"{name}: rows {doubled[:10]} recorded more than once")
            if len(lines) != self.rows or job.get("total_rows", self.rows) != self.rows:
                lost.append(
                    f"{name}: {len(lines)} rows recorded, the job says {job.get('total_rows')}, "
                    f"the file has {self.rows}"
                )
            processed = job.get("processed_rows")
            if processed is not None and processed != len(rows):
                (duplicated if processed > len(rows) else lost).append(
                    f"{name}: counter says {processed} processed, {len(rows)} recorded"
                )
            outcomes = Counter(r["outcome"] for r in rows)
            counted = job.get("created", outcomes["created"])
            if counted != outcomes["created"]:
                (duplicated if counted > outcomes["created"] else lost).append(
                    f"{name}: counter says {job['created']} created, rows say {outcomes['created']}"
                )
            unexpected = {k: n for k, n in outcomes.items() if k not in ("created", "matched")}
            if unexpected:
                lost.append(f"{name}: rows neither created nor matched: {unexpected}")
            created_rows.update(str(r["equipment_id"]) for r in rows if r["outcome"] == "created")
            checked.figures.setdefault("import rows", {})[name] = dict(outcomes)
        twice = [e for e, n in created_rows.items() if n > 1]
        if twice:
            duplicated.append(f"import: {len(twice)} assets created by more than one row")
        assets = await db.fetch(
            "SELECT id, serial FROM assets.equipment WHERE org_id = $1", uuid.UUID(self.org_id)
        )
        serials = Counter(r["serial"] for r in assets)
        sent = {self.serial(n) for n in range(1, self.rows + 1)}
        missing = sent - set(serials)
        if missing:
            lost.append(f"import: {len(missing)} serials never became an asset")
        extra = [s for s in serials if s not in sent]
        if extra:
            duplicated.append(f"import: {len(extra)} assets not in the file")
        doubled_serials = [s for s, n in serials.items() if n > 1]
        if doubled_serials:
            duplicated.append(f"import: {len(doubled_serials)} serials exist more than once")
        ids = {str(r["id"]) for r in assets}
        if set(created_rows) != ids:
            lost.append(
                f"import: {len(ids - set(created_rows))} assets without a 'created' row, "
                f"{len(set(created_rows) - ids)} 'created' rows without an asset"
            )
        history = Counter(
            str(r["equipment_id"])
            for r in await db.fetch(
                "SELECT equipment_id FROM assets.equipment_history "
                "WHERE org_id = $1 AND action = 'created'",
                uuid.UUID(self.org_id),
            )
        )
        for asset_id in ids:
            if history[asset_id] != 1:
                (lost if history[asset_id] == 0 else duplicated).append(
                    f"import: asset {asset_id} has {history[asset_id]} 'created' history entries"
                )
        replicated = {
            str(r["id"])
            for r in await db.fetch(
                "SELECT id FROM workorders.equipment WHERE org_id = $1", uuid.UUID(self.org_id)
            )
        }
        if ids - replicated:
            lost.append(f"import: {len(ids - replicated)} assets missing from workorders' replica")
        self.asset_ids = ids
        checked.figures["imported assets"] = len(ids)

    async def _check_events(self, cluster: Cluster, checked: Checked) -> None:
        ids = self.asset_ids
        created = await equipment_created(cluster, self.org_id)
        for asset_id in ids:
            if created[asset_id] != 1:
                (checked.lost if created[asset_id] == 0 else checked.duplicated).append(
                    f"import: asset {asset_id} has {created[asset_id]} equipment.created events"
                )
        stray = set(created) - ids
        if stray:
            checked.duplicated.append(f"import: {len(stray)} equipment.created without an asset")
        checked.figures["equipment.created events (import org)"] = sum(created.values())


async def equipment_created(cluster: Cluster, org_id: str) -> Counter[str]:
    """``equipment.created`` events of ``org_id`` in the EQUIPMENT stream, by asset id."""
    nc = await nats.connect(cluster.nats_servers, connect_timeout=5, max_reconnect_attempts=3)
    found: Counter[str] = Counter()
    try:
        js = nc.jetstream()
        info = await js.stream_info("EQUIPMENT")
        sub = await js.pull_subscribe(
            "equipment.created",
            stream="EQUIPMENT",
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
            ),
        )
        try:
            read, last = 0, info.state.last_seq
            while True:
                try:
                    batch = await fetch(sub, 500, 3)
                except nats.errors.TimeoutError:
                    break
                for msg in batch:
                    read += 1
                    event = json.loads(msg.data)
                    if event.get("org_id") == org_id:
                        found[str(event["data"]["equipment_id"])] += 1
                if batch and batch[-1].metadata.sequence.stream >= last:
                    break
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()
    return found


async def _first_table(db: asyncpg.Connection, schema: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        if await db.fetchval("SELECT to_regclass($1)", f"{schema}.{name}") is not None:
            return name
    return None


async def _first_column(
    db: asyncpg.Connection, schema: str, table: str, names: tuple[str, ...]
) -> str:
    columns = {
        r["column_name"]
        for r in await db.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2",
            schema,
            table,
        )
    }
    for name in names:
        if name in columns:
            return name
    raise AssertionError(f"{schema}.{table} has none of the columns {names}")


# --- periodic jobs ------------------------------------------------------------------------

_SAMPLE = re.compile(r"^(rivet_job_runs_total|rivet_job_period_seconds)\{([^}]*)\}\s+(\S+)", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _job_label(labels: dict[str, str]) -> str:
    """The job's name: label ``task`` (``job`` is Prometheus's target label), or ``job``."""
    return labels.get("task") or labels.get("job") or ""


@dataclass
class Jobs:
    rows: dict[str, list[dict[str, Any]]]
    """schema -> its job_runs rows."""
    absent: list[str]
    """Schemas without the table."""
    elapsed: float
    """Seconds from the cluster's start to the reading."""
    ok_runs: dict[tuple[str, str], float]
    """(service, job) -> successful passes counted by the processes now running, summed."""
    periods: dict[tuple[str, str], float]
    """(service, job) -> ``rivet_job_period_seconds``."""
    now: datetime
    baseline: Baseline | None = None


@dataclass
class Baseline:
    at: datetime
    passes: dict[tuple[str, str], int]
    """(schema, job) -> runs - failures then."""


async def read_baseline(cluster: Cluster) -> Baseline | None:
    """What ``job_runs`` says now (call it once everything is up); None without the table."""
    db = await asyncpg.connect(cluster.database_url, timeout=10)
    try:
        passes: dict[tuple[str, str], int] = {}
        for schema in (*SCHEMAS, "telegram", "maintenance"):
            if await db.fetchval("SELECT to_regclass($1)", f"{schema}.job_runs") is None:
                continue
            for row in await db.fetch(f"SELECT * FROM {schema}.job_runs"):
                record = dict(row)
                passes[(schema, str(record["name"]))] = int(record["runs"] or 0) - int(
                    record.get("failures") or 0
                )
        now = await db.fetchval("SELECT now()")
    finally:
        await db.close()
    return Baseline(now, passes) if passes else None


async def read_jobs(cluster: Cluster, baseline: Baseline | None = None) -> Jobs | None:
    """``job_runs`` of every schema and the processes' job metrics; None without the table.

    The metrics are scraped first: a pass is claimed in ``job_runs`` before a process counts it,
    so every pass in the scrape is already in the table read after it (read the other way round,
    a two-second job can finish in between and look unclaimed)."""
    ok_runs: Counter[tuple[str, str]] = Counter()
    periods: dict[tuple[str, str], float] = {}
    for name in cluster.services:
        try:
            text = await asyncio.to_thread(cluster.metrics, name)
        except httpx.HTTPError:
            continue  # a process not answering: its passes are not counted (a lower bound)
        for metric, labels_text, value in _SAMPLE.findall(text):
            labels = dict(_LABEL.findall(labels_text))
            key = (labels.get("service", ""), _job_label(labels))
            if metric == "rivet_job_period_seconds":
                periods[key] = float(value)
            elif labels.get("result") in OK_RESULTS:
                ok_runs[key] += float(value)
    db = await asyncpg.connect(cluster.database_url, timeout=10)
    try:
        rows: dict[str, list[dict[str, Any]]] = {}
        absent = []
        for schema in (*SCHEMAS, "telegram", "maintenance"):
            if await db.fetchval("SELECT to_regclass($1)", f"{schema}.job_runs") is None:
                absent.append(schema)
                continue
            rows[schema] = [dict(r) for r in await db.fetch(f"SELECT * FROM {schema}.job_runs")]
        now = await db.fetchval("SELECT now()")
    finally:
        await db.close()
    if not rows:
        return None
    elapsed = (now - cluster.started_at).total_seconds()
    return Jobs(rows, absent, elapsed, dict(ok_runs), periods, now, baseline)


def _periods_from_env() -> dict[str, float]:
    found = {}
    for item in os.environ.get(JOB_PERIODS_ENV, "").split(","):
        name, sep, seconds = item.partition("=")
        if sep:
            found[name.strip()] = float(seconds)
    return found


def _period(
    jobs: Jobs, schema: str, row: dict[str, Any], configured: dict[str, float]
) -> float | None:
    """From ``rivet_job_period_seconds`` (the service is named like its schema), a period
    column, or ``RIVET_CHAOS_JOB_PERIODS``."""
    name = str(row["name"])
    if (schema, name) in jobs.periods:
        return jobs.periods[(schema, name)]
    for column in PERIOD_COLUMNS:
        value = row.get(column)
        if isinstance(value, timedelta):
            return value.total_seconds()
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return configured.get(f"{schema}.{name}", configured.get(name))


def check_jobs(jobs: Jobs) -> tuple[list[str], list[str], list[str]]:
    """(doubled, unchecked, lines): jobs run more often than their periods allow, jobs whose
    period is unknown, and a line per job for the summary.

    A claimed pass that succeeds moves ``due_at`` to its start + period, one whose replica died
    holds the job at least a period; a failed one is retried sooner (counted in ``failures``).
    So ``runs - failures`` <= elapsed / period + 1 whichever replicas claimed them, and the
    processes' successful passes (``rivet_job_runs_total{result="ok"}``, lower for a process
    that was restarted) never exceed ``runs - failures``."""
    configured = _periods_from_env()
    doubled: list[str] = []
    unchecked: list[str] = []
    lines: list[str] = []
    for schema, rows in sorted(jobs.rows.items()):
        for row in sorted(rows, key=lambda r: str(r["name"])):
            name, runs = str(row["name"]), int(row["runs"] or 0)
            failures = int(row.get("failures") or 0)
            counted = runs - failures
            ok = jobs.ok_runs.get((schema, name), 0.0)
            period = _period(jobs, schema, row, configured)
            bound = None if period is None else jobs.elapsed / period + 1
            lines.append(
                f"  {schema + '.' + name:<28} runs {runs:>4}, failures {failures}"
                + ("" if bound is None else f" (at most {math.floor(bound)}: every {period:g} s)")
                + f"; ok passes in the metrics {ok:g}"
                + (f"; last error {row.get('last_error')!r}" if row.get("last_error") else "")
            )
            if bound is None:
                unchecked.append(f"{schema}.{name}")
            elif counted > bound:
                doubled.append(
                    f"{schema}.{name}: {counted} passes (runs - failures) in "
                    f"{jobs.elapsed:.0f} s, period {period:g} s (at most {math.floor(bound)})"
                )
            before = None if jobs.baseline is None else jobs.baseline.passes.get((schema, name))
            if period is not None and jobs.baseline is not None and before is not None:
                since = (jobs.now - jobs.baseline.at).total_seconds()
                # + 1 s: a claim whose transaction began just before the first reading
                limit = (since + 1) / period + 1
                lines[-1] += (
                    f"; {counted - before} since all were up {since:.0f} s earlier "
                    f"(at most {math.floor(limit)})"
                )
                if counted - before > limit:
                    doubled.append(
                        f"{schema}.{name}: {counted - before} passes in the last {since:.0f} s, "
                        f"period {period:g} s (at most {math.floor(limit)})"
                    )
            if ok > counted:
                doubled.append(
                    f"{schema}.{name}: the processes report {ok:g} successful passes, "
                    f"{counted} were claimed and did not fail"
                )
    return doubled, unchecked, lines


# --- who did the work ---------------------------------------------------------------------

_WORK = re.compile(
    r"^(rivet_rpc_duration_seconds_count|rivet_events_consumed_total|rivet_events_published_total"
    r"|rivet_job_runs_total)\{([^}]*)\}\s+(\S+)",
    re.M,
)


def work_split(cluster: Cluster) -> dict[str, Counter[str]]:
    """Per process (since its last start): requests handled, events applied and skipped as
    duplicates, events published and background passes, from its /metrics."""
    split: dict[str, Counter[str]] = {}
    for name in cluster.services:
        counts: Counter[str] = Counter()
        try:
            text = cluster.metrics(name)
        except httpx.HTTPError:
            continue
        for metric, labels_text, value in _WORK.findall(text):
            labels = dict(_LABEL.findall(labels_text))
            if metric == "rivet_rpc_duration_seconds_count":
                counts["requests"] += int(float(value))
            elif metric == "rivet_events_consumed_total":
                outcome = labels.get("outcome", "")
                if outcome in ("ok", "duplicate"):
                    counts[f"events {outcome}"] += int(float(value))
            elif metric == "rivet_events_published_total":
                counts["published"] += int(float(value))
            elif labels.get("result") in OK_RESULTS:
                counts[f"job {_job_label(labels)}"] += int(float(value))
        split[name] = counts
    return split
