"""NATS authorization: the committed config is what deploy/nats/permissions.py generates, the
script's hand-kept tables match the code, and nats-server accepts and enforces the result."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nats
import pytest
import yaml
from deploy_support import AuthNats, start_auth_nats

from rivet_contracts.catalog import EVENTS, RPCS
from rivet_devstack.servers import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
ORG = uuid.UUID("7f1c2b6e-0d1a-4c1e-9a52-3f1b7a4c9d10")
"""The organization of the machine ``plc42`` of the server below."""
OTHER_ORG = uuid.UUID("0b6f4a8e-5c2d-4e7f-8a91-2d3c4b5a6f70")


def test_committed_config_is_current(nats_permissions: ModuleType) -> None:
    committed = (ROOT / "deploy" / "nats" / "rivet-auth.conf").read_text()
    assert committed == nats_permissions.render_conf(), (
        "deploy/nats/rivet-auth.conf is stale: run `uv run python deploy/nats/permissions.py "
        "--write` and commit the result"
    )
    values_text = (ROOT / "k8s" / "nats" / "values.yaml").read_text()
    assert values_text == nats_permissions.helm_values(values_text), (
        "k8s/nats/values.yaml is stale: run `uv run python deploy/nats/permissions.py --write`"
    )
    values = yaml.safe_load(values_text)
    assert values["configMap"]["merge"]["data"]["rivet-auth.conf"] == committed
    env = values["container"]["env"]
    for p in nats_permissions.all_permissions():
        ref = env[p.password_var]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "rivet-nats-users", "key": p.user}


def test_hand_kept_tables_match_the_code(nats_permissions: ModuleType) -> None:
    """Requests a service sends and buckets it opens are not visible in its runtime: the
    script lists them, and this test reads every service's source to keep the list honest."""
    from rivet_devstack.services import SERVICES

    needs = {n.name: n for n in nats_permissions.service_needs()}
    for spec in SERVICES:
        if not spec.installed():
            continue
        allowed = set(needs[spec.name].calls)
        missing = nats_permissions.referenced_requests(spec.name) - allowed
        assert not missing, f"{spec.name} sends {sorted(missing)}: add them to CALLS"
        buckets = nats_permissions.referenced_buckets(spec.name) - set(needs[spec.name].buckets)
        assert not buckets, f"{spec.name} opens buckets {buckets}: add them to EXTRA_BUCKETS"
    # the gateway's rate limits: its one key-value bucket, and nobody else's
    from rivet_gateway.ratelimit import BUCKET

    assert needs["gateway"].kv_buckets == (BUCKET,)
    assert [name for name, n in needs.items() if n.kv_buckets] == ["gateway"]


def test_every_user_is_least_privileged(nats_permissions: ModuleType) -> None:
    by_user = {p.user: p for p in nats_permissions.all_permissions()}
    assert {"auth", "assets", "workorders", "ocr", "gateway", "telegram"} <= set(by_user)
    for user, p in by_user.items():
        assert ">" not in p.publish, user
        assert ">" not in p.subscribe, user
        assert not any(s.startswith("$JS.API.STREAM.DELETE") for s in p.publish), user
        assert not any(s.startswith("rpc.") and s.endswith(">") for s in p.publish), user
        for s in p.subscribe:
            # its own inbox and requests, and single events it listens to (no wildcards)
            assert s in (f"_INBOX_{user}.>", f"rpc.{user}.>") or s in EVENTS, (user, s)
    # only the entry points may send requests to auth's anonymous subjects (login, register)
    senders = {u for u, p in by_user.items() if "rpc.auth.login" in p.publish}
    assert senders == {"gateway", "telegram"}
    # events are published by their owner only
    for event, owner in {
        "user.registered": "auth",
        "equipment.created": "assets",
        "wo.created": "workorders",
        "nameplate.uploaded": "ocr",
        "plan.created": "maintenance",
        "pm.due": "maintenance",
        "meter.reading_recorded": "maintenance",
    }.items():
        assert {u for u, p in by_user.items() if event in p.publish} == {owner}, event
    # machines' readings come from machines only: no service may publish one
    for user, p in by_user.items():
        assert not [s for s in p.publish if s.startswith("reading.")], user
    # only the exporter writes the organizations' streams, and creates no stream of Rivet's
    assert {u for u, p in by_user.items() if "org.*.>" in p.publish} == {"integrations"}
    exporter = by_user["integrations"]
    for name in ("USERS", "WORKORDERS", "READINGS", "DEADLETTERS", "OBJ_UPLOADS", "OBJ_PHOTOS"):
        assert f"$JS.API.STREAM.CREATE.{name}" in exporter.deny_publish
    assert not [s for s in exporter.publish if s.startswith(("rpc.", "wo.", "user."))]
    assert not [u for u, p in by_user.items() if p.deny_publish and u != "integrations"]
    # the entry points reach every maintenance request
    maintenance = {s for s in RPCS if s.startswith("rpc.maintenance.")}
    assert len(maintenance) == 15
    for user in ("gateway", "telegram"):
        assert maintenance <= set(by_user[user].publish), user


def test_machines_get_their_organization_s_subject_only(nats_permissions: ModuleType) -> None:
    machine = nats_permissions.Machine.parse(f"plc42={ORG}")
    (p,) = [p for p in nats_permissions.all_permissions("prod", [machine]) if "machine" in p.user]
    assert p.user == "prod_machine_plc42"
    assert p.password_var == "NATS_PASSWORD_PROD_MACHINE_PLC42"
    assert p.publish == [
        f"prod.reading.submitted.{ORG}",
        f"prod.reading.batch_submitted.{ORG}",
    ]
    assert p.subscribe == ["_INBOX_prod_machine_plc42.>"]
    assert p.allow_responses is False
    conf = nats_permissions.render_conf(machines=[machine])
    assert f'"reading.submitted.{ORG}"' in conf
    assert f'"reading.batch_submitted.{ORG}"' in conf
    assert conf.count("reading.submitted") == 1 + conf.count("reading.submitted.*")
    assert conf.count("reading.batch_submitted") == 1 + conf.count("reading.batch_submitted.*")
    env = nats_permissions.render_helm_env(machines=[machine])
    assert "NATS_PASSWORD_MACHINE_PLC42:" in env
    assert "key: machine_plc42" in env
    # names a NATS variable can carry; an organization id; one user per name
    for bad in (
        "PLC42=" + str(ORG),
        "plc-42=" + str(ORG),
        "plc42",
        f"plc42={ORG}x",
        "9plc=" + str(ORG),
    ):
        with pytest.raises(ValueError, match=r"(?i)plc"):
            nats_permissions.Machine.parse(bad)
    with pytest.raises(ValueError, match="two users"):
        nats_permissions.all_permissions(
            "", [machine, nats_permissions.Machine("plc42", OTHER_ORG)]
        )
    # the command line says so, and writes nothing
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy/nats/permissions.py"), "--machine", "plc-42=x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "plc-42" in done.stderr


def test_integrations_get_their_organization_s_stream_only(nats_permissions: ModuleType) -> None:
    erp = nats_permissions.Integration.parse(f"erp={ORG}")
    perms = nats_permissions.all_permissions("prod", [], [erp])
    (p,) = [p for p in perms if p.user.startswith("prod_integration_")]
    stream = "PROD_ORG_" + ORG.hex.upper()
    assert p.user == "prod_integration_erp"
    assert p.password_var == "NATS_PASSWORD_PROD_INTEGRATION_ERP"
    assert p.subscribe == ["_INBOX_prod_integration_erp.>"]
    assert p.allow_responses is False
    assert not p.deny_publish
    for subject in p.publish:  # the JetStream API of its stream, and nothing else
        assert subject == "$JS.API.INFO" or f".{stream}" in subject, subject
        assert subject.startswith(("$JS.API.", "$JS.ACK.")), subject
    assert f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*" in p.publish
    assert not [s for s in p.publish if "STREAM.DELETE" in s or "STREAM.PURGE" in s]
    assert not [s for s in p.publish if s.startswith(("rpc.", "org.", "prod.")) or s == ">"]
    conf = nats_permissions.render_conf(integrations=[erp])
    assert 'user: "integration_erp"' in conf
    env = nats_permissions.render_helm_env(integrations=[erp])
    assert "NATS_PASSWORD_INTEGRATION_ERP:" in env
    for bad in ("ERP=" + str(ORG), "erp", f"erp={ORG}x"):
        with pytest.raises(ValueError, match=r"(?i)erp"):
            nats_permissions.Integration.parse(bad)
    with pytest.raises(ValueError, match="two users"):
        nats_permissions.all_permissions(
            "", [], [erp, nats_permissions.Integration("erp", OTHER_ORG)]
        )
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy/nats/permissions.py"), "--integration", "e-1=x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "e-1" in done.stderr


def test_namespace_prefixes_subjects_streams_and_buckets(nats_permissions: ModuleType) -> None:
    conf = nats_permissions.render_conf("prod")
    assert 'user: "prod_ocr"' in conf
    assert "$NATS_PASSWORD_PROD_OCR" in conf
    assert '"prod.rpc.ocr.>"' in conf
    assert '"$JS.API.CONSUMER.MSG.NEXT.PROD_NAMEPLATES.ocr-worker"' in conf
    assert '"$O.PROD_PHOTOS.>"' in conf
    assert '"rpc.' not in conf
    assert '"user.registered"' not in conf


# --- the generated config on a real nats-server ----------------------------------------------


@pytest.fixture(scope="module")
def auth_nats(
    tmp_path_factory: pytest.TempPathFactory, nats_permissions: ModuleType
) -> Iterator[AuthNats]:
    machine = nats_permissions.Machine("plc42", ORG)
    server = start_auth_nats(tmp_path_factory.mktemp("nats"), nats_permissions, "", [machine])
    yield server
    server.stop()


def test_nats_server_accepts_committed_config(tmp_path: Path, nats_permissions: ModuleType) -> None:
    conf = tmp_path / "nats.conf"
    (tmp_path / "rivet-auth.conf").write_text((ROOT / "deploy/nats/rivet-auth.conf").read_text())
    conf.write_text(f'jetstream {{ store_dir: "{tmp_path / "js"}" }}\ninclude ./rivet-auth.conf\n')
    users = [p.user for p in nats_permissions.all_permissions()] + ["admin"]
    env = os.environ | {"NATS_PASSWORD_" + u.upper(): "x" for u in users}
    checked = subprocess.run(
        [nats_server_binary(), "-c", str(conf), "-t"], env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # a missing password variable stops the server (it fails closed)
    del env["NATS_PASSWORD_OCR"]
    checked = subprocess.run(
        [nats_server_binary(), "-c", str(conf), "-t"], env=env, capture_output=True, text=True
    )
    assert checked.returncode != 0
    assert "NATS_PASSWORD_OCR" in checked.stdout + checked.stderr


async def _errors_of(url: str, action: str, subject: str) -> list[str]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(url, error_cb=on_error, max_reconnect_attempts=0, connect_timeout=3)
    try:
        if action == "pub":
            await nc.publish(subject, b"{}")
        else:
            await nc.subscribe(subject)
        # the server answers -ERR before the PONG of this flush; give the client a moment
        # to hand the error to its callback
        await nc.flush(timeout=3)
        for _ in range(10):
            if errors:
                break
            await asyncio.sleep(0.02)
    finally:
        await nc.close()
    return errors


@pytest.mark.parametrize(
    ("user", "action", "subject"),
    [
        ("ocr", "pub", "rpc.auth.login"),  # only the entry points send requests
        ("assets", "sub", "rpc.auth.>"),  # nobody else can answer as auth
        ("gateway", "sub", "rpc.assets.get"),
        ("workorders", "pub", "user.registered"),  # events come from their owner only
        ("gateway", "pub", "equipment.created"),
        ("assets", "pub", "$JS.API.STREAM.DELETE.USERS"),
        ("ocr", "pub", "$JS.API.CONSUMER.CREATE.USERS.steal.user.registered"),
        ("gateway", "pub", "$O.PHOTOS.M.x"),  # the gateway has no business with photos
        ("telegram", "pub", "$JS.API.STREAM.CREATE.USERS"),
        # a machine sends its own organization's readings and nothing else
        ("machine_plc42", "pub", f"reading.submitted.{OTHER_ORG}"),
        ("machine_plc42", "pub", "reading.submitted.*"),
        ("machine_plc42", "pub", "rpc.maintenance.record_reading"),
        ("machine_plc42", "pub", "meter.reading_recorded"),
        ("machine_plc42", "pub", "$JS.API.STREAM.INFO.READINGS"),
        ("machine_plc42", "sub", "reading.submitted.>"),
        ("machine_plc42", "sub", "_INBOX.>"),
        ("machine_plc42", "sub", "_INBOX_maintenance.>"),
        # and no service forges one
        ("maintenance", "pub", f"reading.submitted.{ORG}"),
        ("gateway", "pub", f"reading.submitted.{ORG}"),
        ("maintenance", "pub", "rpc.auth.login"),
        ("maintenance", "pub", "wo.created"),
        # the rate limits' bucket is the gateway's alone, and the gateway has no other
        ("ocr", "pub", "$KV.RATELIMITS.user.x"),
        ("gateway", "pub", "$KV.OTHER.user.x"),
        ("gateway", "pub", "$JS.API.STREAM.DELETE.KV_RATELIMITS"),
        ("integrations", "pub", "$JS.API.STREAM.CREATE.KV_RATELIMITS"),
        # the attachments service reads the OCR service's photos and never writes them
        ("attachments", "pub", "$O.PHOTOS.C.x"),
        ("attachments", "pub", "$O.PHOTOS.M.x"),
        ("attachments", "pub", "$JS.API.STREAM.PURGE.OBJ_PHOTOS"),
        ("attachments", "pub", "$JS.API.STREAM.CREATE.OBJ_PHOTOS"),
        # the bot reads the attachments' files (thumbnails, an order's files) and never writes
        ("telegram", "pub", "$O.ATTACHMENTS.C.x"),
        ("telegram", "pub", "$O.ATTACHMENTS.M.x"),
        ("telegram", "pub", "$JS.API.STREAM.PURGE.OBJ_ATTACHMENTS"),
        ("telegram", "pub", "$JS.API.STREAM.CREATE.OBJ_ATTACHMENTS"),
        # webhooks read the organizations' streams, never Rivet's own
        ("integrations", "pub", "$JS.API.CONSUMER.CREATE.WORKORDERS"),
        ("integrations", "pub", "$JS.API.CONSUMER.CREATE.USERS"),
        ("integrations", "pub", "$JS.API.CONSUMER.DELETE.WORKORDERS.workorders-x"),
        ("integrations", "pub", "$JS.API.STREAM.MSG.GET.USERS"),
        ("integrations", "pub", "$JS.API.STREAM.MSG.GET.OBJ_UPLOADS"),
    ],
)
async def test_server_refuses_what_is_not_granted(
    auth_nats: AuthNats, user: str, action: str, subject: str
) -> None:
    errors = await _errors_of(auth_nats.url(user), action, subject)
    assert any("permissions violation" in e.lower() for e in errors), errors


@pytest.mark.parametrize(
    ("user", "action", "subject"),
    [
        ("gateway", "pub", "rpc.auth.login"),
        ("workorders", "pub", "rpc.assets.get"),
        ("auth", "sub", "rpc.auth.>"),
        ("assets", "pub", "equipment.created"),
        ("admin", "sub", ">"),
        ("machine_plc42", "pub", f"reading.submitted.{ORG}"),
        ("machine_plc42", "sub", "_INBOX_machine_plc42.>"),
        ("maintenance", "pub", "rpc.workorders.create"),
        ("maintenance", "sub", "rpc.maintenance.>"),
        ("gateway", "pub", "rpc.maintenance.create_plan"),
        ("telegram", "pub", "rpc.maintenance.record_reading"),
        ("gateway", "pub", "$KV.RATELIMITS.user.x"),
        ("gateway", "pub", "$JS.API.DIRECT.GET.KV_RATELIMITS.$KV.RATELIMITS.user.x"),
        ("attachments", "pub", "$JS.API.STREAM.MSG.GET.OBJ_PHOTOS"),
        ("attachments", "pub", "$JS.API.CONSUMER.CREATE.OBJ_PHOTOS.x.$O.PHOTOS.C.x"),
        ("assets", "pub", "equipment.attachment_added"),
        ("telegram", "pub", "$JS.API.STREAM.MSG.GET.OBJ_ATTACHMENTS"),
        ("telegram", "pub", "$JS.API.CONSUMER.CREATE.OBJ_ATTACHMENTS.x.$O.ATTACHMENTS.C.x"),
        (
            "telegram",
            "pub",
            "$JS.API.CONSUMER.CREATE.WORKORDERS.telegram-notify-attachment.wo.attachment_added",
        ),
        # webhooks: readers of an organization's stream, a message by sequence
        ("integrations", "pub", f"$JS.API.CONSUMER.CREATE.ORG_{ORG.hex.upper()}"),
        ("integrations", "pub", f"$JS.API.CONSUMER.MSG.NEXT.ORG_{ORG.hex.upper()}.x"),
        ("integrations", "pub", f"$JS.API.CONSUMER.DELETE.ORG_{ORG.hex.upper()}.x"),
        ("integrations", "pub", f"$JS.API.STREAM.MSG.GET.ORG_{ORG.hex.upper()}"),
    ],
)
async def test_server_allows_what_is_granted(
    auth_nats: AuthNats, user: str, action: str, subject: str
) -> None:
    assert await _errors_of(auth_nats.url(user), action, subject) == []


async def test_unknown_user_and_wrong_password_are_refused(auth_nats: AuthNats) -> None:
    bad = auth_nats.url("gateway").replace(auth_nats.passwords["gateway"], "wrong")
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(bad, max_reconnect_attempts=0, connect_timeout=3, allow_reconnect=False)
    anonymous = f"nats://127.0.0.1:{auth_nats.port}"
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(anonymous, max_reconnect_attempts=0, allow_reconnect=False)


def test_compose_server_config_is_valid(tmp_path: Path) -> None:
    """deploy/nats/nats.conf as docker-compose runs it (its default passwords)."""
    conf = (ROOT / "deploy/nats/nats.conf").read_text()
    conf = conf.replace('"/data/jetstream"', f'"{tmp_path / "js"}"')
    (tmp_path / "nats.conf").write_text(conf)
    (tmp_path / "rivet-auth.conf").write_text((ROOT / "deploy/nats/rivet-auth.conf").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = os.environ.copy()
    for key, value in compose["services"]["nats"]["environment"].items():
        env[key] = value.split(":-", 1)[1].rstrip("}")  # ${VAR:-default}
    checked = subprocess.run(
        [nats_server_binary(), "-c", str(tmp_path / "nats.conf"), "-t"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_attachments_read_the_ocr_photos_and_write_none(auth_nats: AuthNats) -> None:
    """The attachments service copies a scan's photo out of PHOTOS with the client's own calls
    (open the bucket, look the object up, read its chunks), and may not put, delete or purge
    there: the photos stay the OCR service's."""
    from rivet_runtime.broker import inbox_prefix

    photo = os.urandom(300_000)  # three chunks of 128 KiB
    ocr = await nats.connect(
        auth_nats.url("ocr"), inbox_prefix=inbox_prefix("ocr"), max_reconnect_attempts=0
    )
    reader = await nats.connect(
        auth_nats.url("attachments"),
        inbox_prefix=inbox_prefix("attachments"),
        max_reconnect_attempts=0,
        error_cb=_quiet,
    )
    try:
        photos = await ocr.jetstream().create_object_store("PHOTOS")
        await photos.put("scans/plate", photo)
        store = await reader.jetstream(timeout=2).object_store("PHOTOS")
        assert (await store.get_info("scans/plate")).size == len(photo)
        assert (await store.get("scans/plate")).data == photo
        for attempt in (store.put("scans/forged", b"x"), store.delete("scans/plate")):
            with pytest.raises(nats.errors.Error):  # denied: no acknowledgement comes
                await attempt
        assert (await photos.get("scans/plate")).data == photo
        assert [i.name for i in await photos.list()] == ["scans/plate"]
    finally:
        await reader.close()
        await ocr.close()


async def test_the_bot_reads_the_attachments_files_and_writes_none(auth_nats: AuthNats) -> None:
    """The bot sends an attachment's thumbnail back and an order's files from its card: it reads
    ATTACHMENTS with the client's own calls and may not put, delete or purge there (the files
    stay the attachments service's)."""
    from rivet_runtime.broker import inbox_prefix

    original = os.urandom(300_000)  # three chunks of 128 KiB
    owner = await nats.connect(
        auth_nats.url("attachments"),
        inbox_prefix=inbox_prefix("attachments"),
        max_reconnect_attempts=0,
    )
    bot = await nats.connect(
        auth_nats.url("telegram"),
        inbox_prefix=inbox_prefix("telegram"),
        max_reconnect_attempts=0,
        error_cb=_quiet,
    )
    try:
        files = await owner.jetstream().create_object_store("ATTACHMENTS")
        await files.put("org/file/original", original)
        store = await bot.jetstream(timeout=2).object_store("ATTACHMENTS")
        assert (await store.get("org/file/original")).data == original
        for attempt in (store.put("org/forged/original", b"x"), store.delete("org/file/original")):
            with pytest.raises(nats.errors.Error):  # denied: no acknowledgement comes
                await attempt
        assert [i.name for i in await files.list()] == ["org/file/original"]
    finally:
        await bot.close()
        await owner.close()


async def _quiet(exc: Exception) -> None:
    """Permission violations of the refused writes above (expected)."""
