"""``rivet-dev import rivet-pro`` against the running services: a Rivet Pro database built from
its migrations with thousands of generated rows, imported through the services' requests;
every row accounted for, numbers kept, a second run changes nothing, and the orders count in
the stats and KPIs."""

import argparse
import asyncio
import io
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rivet_pro_data import Generated, build

from rivet_devstack.rivetpro import cli as importer_cli
from rivet_devstack.rivetpro.importer import Result
from rivet_devstack.servers import drop_database, ensure_database, with_database
from rivet_devstack.testing.env import TestEnv
from rivet_devstack.testing.helpers import PASSWORD, Session, login
from rivet_devstack.testing.services import ServiceSet

# Sized for about two minutes on a loaded 2-core machine, where every service shares the test's
# process; RIVET_PRO_ASSETS / RIVET_PRO_ORDERS run it bigger, and bench/rivetpro runs 2,000
# assets and 3,000 orders against the services as processes.
ASSETS = int(os.environ.get("RIVET_PRO_ASSETS", "300"))
ORDERS = int(os.environ.get("RIVET_PRO_ORDERS", "300"))


@pytest.fixture
async def rivet_pro(test_env: TestEnv) -> AsyncIterator[tuple[str, Generated]]:
    name = f"{test_env.database}_pro_{uuid.uuid4().hex[:6]}"
    await ensure_database(test_env.admin_url, name)
    url = with_database(test_env.admin_url, name)
    admin_email = f"pro-admin-{uuid.uuid4().hex[:8]}@example.com"
    try:
        yield url, await build(url, assets=ASSETS, orders=ORDERS, admin_email=admin_email)
    finally:
        await drop_database(test_env.admin_url, name)


def _args(
    test_env: TestEnv, url: str, email: str, report: Path, **extra: Any
) -> argparse.Namespace:
    values = {
        "system": "rivet-pro", "source_url": url, "admin_email": email, "create_org": None,
        "admin_name": None, "dry_run": False, "report": report,
        "concurrency": int(os.environ.get("RIVET_PRO_CONCURRENCY", "8")),
        "nats": test_env.nats_url, "namespace": test_env.namespace,
    }  # fmt: skip
    return argparse.Namespace(**(values | extra))


async def _all(api: httpx.AsyncClient, who: Session, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = await api.get(path, params={"limit": 200, "offset": len(items)}, headers=who.headers)
        assert page.status_code == 200, page.text
        batch = page.json()["items"]
        items += batch
        if len(batch) < 200:
            return items


def _outcomes(result: Result, kind: str) -> Counter[str]:
    return Counter(row.outcome for row in result.report.rows if row.kind == kind)


@pytest.mark.timeout(600)
async def test_a_rivet_pro_database_comes_across_once(
    api: httpx.AsyncClient,
    services: ServiceSet,
    test_env: TestEnv,
    rivet_pro: tuple[str, Generated],
    tmp_path: Path,
) -> None:
    url, data = rivet_pro
    # the Rivet Pro admin registers in Rivet first; the import acts as them
    body = {"email": data.admin_email, "password": PASSWORD, "full_name": "Pro Admin"}
    registered = await api.post("/api/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    admin = Session(data.admin_email, PASSWORD, registered.json())
    admin.tokens = (await login(api, data.admin_email)).json()

    # a dry run decides every row and sends nothing
    out = io.StringIO()
    dry = await importer_cli.run(
        _args(test_env, url, admin.email, tmp_path / "dry.jsonl", dry_run=True), PASSWORD,
        out=out, err=None,
    )  # fmt: skip
    assert dry.failed == 0
    assert _outcomes(dry, "equipment")["would_create"] == len(data.equipment) - len(data.duplicates)
    assert _outcomes(dry, "work_order")["would_create"] == len(data.work_orders)
    assert await _all(api, admin, "/api/equipment") == []

    # the import
    started = time.monotonic()
    result = await importer_cli.run(
        _args(test_env, url, admin.email, tmp_path / "first.jsonl"), PASSWORD, out=out, err=None
    )
    seconds = time.monotonic() - started
    print(out.getvalue())
    lines = (tmp_path / "first.jsonl").read_text().splitlines()
    report = [json.loads(line) for line in lines]

    # every row accounted for, once, in the report file too
    users = 1 + len(data.web) + len(data.telegram_only) + len(data.telegram_with_email)
    users += data.unreachable
    for kind, total in (
        ("user", users), ("equipment", len(data.equipment)), ("work_order", len(data.work_orders))
    ):  # fmt: skip
        rows = [r for r in report if r["kind"] == kind]
        assert len(rows) == total, kind
        assert len({r["source_id"] for r in rows}) == total, kind
    assert result.failed == 0, [r for r in report if r["outcome"] == "failed"][:5]

    assert _outcomes(result, "user") == Counter(
        matched=1,
        created=len(data.web) + len(data.telegram_only) + len(data.telegram_with_email),
        skipped=data.unreachable,
    )
    skipped = {r["reason"] for r in report if r["kind"] == "user" and r["outcome"] == "skipped"}
    assert any("WhatsApp" in reason for reason in skipped), skipped
    assert any("invalid e-mail" in reason for reason in skipped), skipped
    assert _outcomes(result, "equipment") == Counter(
        created=len(data.equipment) - len(data.duplicates), merged=len(data.duplicates)
    )
    assert _outcomes(result, "work_order") == Counter(created=len(data.work_orders))

    # the members: web users invited (they choose a password from the mail), chat users
    # joined and linked to their Telegram accounts
    invitations = (await api.get("/api/auth/invitations", headers=admin.headers)).json()["items"]
    assert {i["email"] for i in invitations} == set(data.web)
    members = (await api.get("/api/auth/users", headers=admin.headers)).json()["items"]
    linked = [m for m in members if m["telegram_linked"]]
    assert len(linked) == len(data.telegram_only) + len(data.telegram_with_email) + 1
    # the admin, a member already, has their Telegram account linked
    assert any(m["email"] == data.admin_email for m in linked)
    admin_row = next(r for r in report if r["kind"] == "user" and r["outcome"] == "matched")
    assert admin_row["reason"] == "Telegram account linked"

    # numbers kept: every asset but the duplicates has its Rivet Pro number
    assets = {a["number"]: a for a in await _all(api, admin, "/api/equipment")}
    assert set(assets) == set(data.equipment) - set(data.duplicates)
    assert all(a["source"] == "import" for a in assets.values())
    orders = {o["number"]: o for o in await _all(api, admin, "/api/work-orders")}
    assert set(orders) == set(data.work_orders)
    for number, (status, equipment_number) in data.work_orders.items():
        order = orders[number]
        assert order["status"] == status, number
        # an order of a duplicate asset is on the asset with that serial
        assert order["equipment"]["number"] == data.duplicates.get(
            equipment_number, equipment_number
        ), number
    long_title = next(r for r in report if "title cut to 200 characters" in r.get("notes", []))
    assert len(orders[long_title["source_number"]]["title"]) <= 200
    one = (await api.get(f"/api/work-orders/{next(iter(orders))}", headers=admin.headers)).json()
    assert "[Rivet Pro WO-" in one["description"]
    assert one["source"] == "import"

    # the stats and KPIs count the imported orders (rollups follow the events)
    statuses = Counter(status for status, _ in data.work_orders.values())
    deadline = time.monotonic() + 60
    while True:
        overview = (await api.get("/api/stats/overview", headers=admin.headers)).json()
        if overview["work_orders"]["total"] == len(data.work_orders) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert overview["work_orders"]["total"] == len(data.work_orders)
    assert overview["equipment"]["total"] == len(assets)
    by_status = {s: n for s, n in overview["work_orders"]["by_status"].items() if n}
    assert by_status == dict(statuses)
    # work started on every in-progress and completed order (mean time to acknowledge);
    # Rivet Pro recorded no downtime, so repair times (MTTR) stay empty
    started_on = statuses["in_progress"] + statuses["completed"]
    while True:
        kpis = (await api.get("/api/stats/kpis", headers=admin.headers)).json()
        acknowledged = kpis["mtta"]["inputs"]["acknowledged_orders"]
        if acknowledged == started_on or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert acknowledged == started_on, kpis["mtta"]

    # a second run finds everything and changes nothing
    again = await importer_cli.run(
        _args(test_env, url, admin.email, tmp_path / "second.jsonl"), PASSWORD, out=out, err=None
    )
    assert again.failed == 0
    assert not [r for r in again.report.rows if r.outcome in ("created", "would_create")]
    assert _outcomes(again, "equipment") == Counter(
        matched=len(data.equipment) - len(data.duplicates), merged=len(data.duplicates)
    )
    assert _outcomes(again, "work_order") == Counter(matched=len(data.work_orders))
    after = {o["number"]: o for o in await _all(api, admin, "/api/work-orders")}
    assert {n: (o["status"], o["version"]) for n, o in after.items()} == {
        n: (o["status"], o["version"]) for n, o in orders.items()
    }
    assert len(await _all(api, admin, "/api/equipment")) == len(assets)

    rate = len(data.equipment) / result.seconds["equipment"]
    print(
        f"imported {len(data.equipment)} assets ({rate:.0f}/s) and {len(data.work_orders)} work "
        f"orders ({len(data.work_orders) / result.seconds['work_orders']:.0f}/s) in {seconds:.1f}s"
    )
