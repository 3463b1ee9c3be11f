"""NATS users and permissions for Rivet: one user per service, allowed only its own subjects.

Generated from the contracts catalogue (every request subject and event subject) and from the
services' runtimes as their entry points build them (the streams they declare, the durable
consumers they own, whether they use the uploads bucket, whether they serve requests). What a
runtime does not show is listed below: requests a service sends to other services (``CALLS``),
extra object-store buckets (``EXTRA_BUCKETS``), other services' object stores it only reads
(``READ_BUCKETS``) and key-value buckets (``KEY_VALUE_BUCKETS``).
``tests/deploy/test_deploy_nats.py`` fails when the committed files are stale, and checks those
tables against the code.

    uv run python deploy/nats/permissions.py                   # print the config
    uv run python deploy/nats/permissions.py --write           # update the committed files
    uv run python deploy/nats/permissions.py --namespace prod  # for NATS_NAMESPACE=prod
    uv run python deploy/nats/permissions.py --machine plc42=<org id>   # + a machine's user
    uv run python deploy/nats/permissions.py --integration erp=<org id>  # + an outside subscriber

Machines (PLCs, gateways, IoT bridges) send meter readings on ``reading.submitted.<org_id>``,
or several a message on ``reading.batch_submitted.<org_id>`` (``MACHINE_EVENTS``). Each gets a
user of its own, ``machine_<name>``, that may publish its organization's two subjects and
nothing else, and receive the acknowledgements of those publishes on
its own inbox prefix (``_INBOX_machine_<name>``; the client sets it, e.g. nats-py's
``inbox_prefix``). Machines belong to a deployment, not to the repository: ``--machine`` (one
per machine) adds them to what is printed or written, so generate your deployment's config with
them rather than committing them here. No service user may publish a machine's subject.

Outside subscribers (an ERP, a SCADA gateway) read one organization's events from its stream
``ORG_<org id hex>`` (subjects ``org.<org_id>.>``), which the integrations service fills with the
organization's exported events. Each gets a user of its own, ``integration_<name>``
(``--integration name=org_id``, like ``--machine``), that may manage and read durable consumers
of that stream and nothing else: no other organization's stream, no event or request subject,
no publishing into Rivet's streams; its replies come on its own inbox prefix
(``_INBOX_integration_<name>``). See docs/integrations.md.

Passwords are never in the output: each user's password is the NATS variable
``$NATS_PASSWORD_<USER>``, which nats-server reads from its environment at start (a missing
variable stops the server: it fails closed). nats-server parses the variable's value as a
configuration value: passwords must be letters and digits starting with a letter (a leading digit
makes it a number). With a namespace, users are ``<namespace>_<service>``
so several environments can share one NATS, each with its own credentials.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rivet_contracts import Events, Rpc
from rivet_contracts.catalog import EVENTS, RPCS
from rivet_contracts.maintenance import reading_batch_subject, reading_subject
from rivet_contracts.spec import RpcSpec
from rivet_contracts.streams import (
    ALL_STREAMS,
    ORG_SUBJECT_PREFIX,
    StreamSpec,
    org_stream,
    stream_for,
)
from rivet_runtime.broker import inbox_prefix
from rivet_runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
CONF_FILE = ROOT / "deploy" / "nats" / "rivet-auth.conf"
HELM_VALUES = ROOT / "k8s" / "nats" / "values.yaml"

UPLOADS = "UPLOADS"

# Services the registry may not list yet (still being written); generated from this fallback
# until their package is installed, then from their runtime like the others.
PLANNED: dict[str, dict[str, Any]] = {
    "telegram": {"serves_rpc": False},
}

# Requests a service sends to other services, which its runtime cannot show.
# "*" = every request subject in the catalogue (the API entry points).
CALLS: dict[str, tuple[str, ...]] = {
    "gateway": ("*",),
    "telegram": ("*",),
    "workorders": (Rpc.ASSETS_CREATE, Rpc.ASSETS_GET, Rpc.AUTH_LIST_USERS),
    "maintenance": (
        Rpc.ASSETS_GET,
        Rpc.AUTH_LIST_USERS,
        Rpc.WORKORDERS_CREATE,
        Rpc.WORKORDERS_GET,
    ),
    # the record an attachment goes on, asked of its owner as the caller
    "attachments": (Rpc.ASSETS_GET, Rpc.WORKORDERS_GET),
}

# Events that come from outside the services: machines publish them (see ``Machine``); the
# service that declares their stream only consumes them.
MACHINE_EVENTS: frozenset[str] = frozenset(
    {Events.READING_SUBMITTED, Events.READING_BATCH_SUBMITTED}
)

# Services that copy events to the organizations' streams: ``module:attribute`` of the domain
# streams and durable consumers they read (each a ``stream`` spec and a ``durable`` name).
EXPORTERS: dict[str, str] = {
    "integrations": "rivet_integrations.exporter.sources:SOURCES",
}

# Object-store buckets a service opens itself (besides UPLOADS, which the runtime declares).
EXTRA_BUCKETS: dict[str, tuple[str, ...]] = {
    "ocr": ("PHOTOS",),
    "attachments": ("ATTACHMENTS",),
    "gateway": ("ATTACHMENTS",),  # serves the attachments' files (GET .../content)
}

# Object-store buckets of another service that a service reads and never writes: the
# attachments service copies a scanned nameplate photo from the OCR service's PHOTOS into its
# own ATTACHMENTS (it may look objects up and read their chunks; not put, delete or purge).
READ_BUCKETS: dict[str, tuple[str, ...]] = {
    "attachments": ("PHOTOS",),
    # the bot sends an attachment's thumbnail back, and an order's files from its card
    "telegram": ("ATTACHMENTS",),
}

# Key-value buckets a service opens (created if missing): the gateway's rate limits.
KEY_VALUE_BUCKETS: dict[str, tuple[str, ...]] = {
    "gateway": ("RATELIMITS",),
}

ADMIN = "admin"
"""An operator user with every permission (nats CLI, stream backups); keep it out of services."""
MACHINE_PREFIX = "machine_"
MACHINE_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
INTEGRATION_PREFIX = "integration_"


@dataclass(frozen=True)
class Consumer:
    subject: str
    durable: str

    @property
    def stream(self) -> StreamSpec:
        return stream_for(self.subject)


@dataclass
class ServiceNeeds:
    """What one service does on NATS, before any namespace."""

    name: str
    serves_rpc: bool = False
    publishes: tuple[StreamSpec, ...] = ()
    declares: tuple[StreamSpec, ...] = ()
    consumers: tuple[Consumer, ...] = ()
    dead_letters: bool = False
    buckets: tuple[str, ...] = ()
    read_buckets: tuple[str, ...] = ()
    """Object stores of other services it only reads (``READ_BUCKETS``)."""
    kv_buckets: tuple[str, ...] = ()
    """Key-value buckets it creates if missing, reads and writes (``KEY_VALUE_BUCKETS``)."""
    calls: tuple[str, ...] = ()
    listens: tuple[str, ...] = ()
    """Event subjects every replica hears (``ServiceRuntime.listen``)."""
    exports: tuple[Consumer, ...] = ()
    """Durable consumers of the domain streams whose events it copies to the organizations'
    streams (``EXPORTERS``): each consumer reads its whole stream."""


@dataclass(frozen=True)
class Machine:
    """A machine that sends its organization's meter readings (``--machine name=org_id``)."""

    name: str
    org_id: uuid.UUID

    @classmethod
    def parse(cls, text: str) -> Machine:
        name, sep, org = text.partition("=")
        if not sep or not MACHINE_NAME.fullmatch(name):
            raise ValueError(
                f"{text!r}: give name=org_id, the name in lower-case letters, digits and _ "
                "(starting with a letter, at most 48)"
            )
        try:
            return cls(name, uuid.UUID(org))
        except ValueError:
            raise ValueError(f"{text!r}: {org!r} is not an organization id (a UUID)") from None

    @property
    def user(self) -> str:
        """The machine's user before any namespace: ``machine_<name>``."""
        return MACHINE_PREFIX + self.name


@dataclass(frozen=True)
class Integration:
    """An outside subscriber of one organization's events (``--integration name=org_id``)."""

    name: str
    org_id: uuid.UUID

    @classmethod
    def parse(cls, text: str) -> Integration:
        name, sep, org = text.partition("=")
        if not sep or not MACHINE_NAME.fullmatch(name):
            raise ValueError(
                f"{text!r}: give name=org_id, the name in lower-case letters, digits and _ "
                "(starting with a letter, at most 48)"
            )
        try:
            return cls(name, uuid.UUID(org))
        except ValueError:
            raise ValueError(f"{text!r}: {org!r} is not an organization id (a UUID)") from None

    @property
    def user(self) -> str:
        """The integration's user before any namespace: ``integration_<name>``."""
        return INTEGRATION_PREFIX + self.name


@dataclass
class Permissions:
    user: str
    password_var: str
    publish: list[str] = field(default_factory=list)
    subscribe: list[str] = field(default_factory=list)
    allow_responses: bool = False
    deny_publish: list[str] = field(default_factory=list)
    """Exceptions to ``publish`` (which may then hold a wildcard)."""


# --- what each service needs ------------------------------------------------------------------


def _settings_for(spec: Any) -> Any:
    from rivet_devstack.keys import generate

    cls = spec.load("settings")
    values: dict[str, Any] = {}
    if "jwt_private_key" in cls.model_fields:
        values["jwt_private_key"] = generate()[0]
    if "jwt_public_key" in cls.model_fields:
        values["jwt_public_key"] = generate()[1]
    for variable in spec.needs:  # credentials a real start needs (the bot token): a stand-in
        field = variable.lower()
        if field in cls.model_fields:
            values[field] = "0:introspection-only"
    return cls.model_validate(values)


def _runtime(spec: Any) -> Any:
    if spec.build is None:  # the gateway, the web app: runtimes without a schema
        return spec.load("runtime")(_settings_for(spec))
    return spec.load("build")(_settings_for(spec))


def _exports(name: str) -> tuple[Consumer, ...]:
    if name not in EXPORTERS:
        return ()
    module, _, attribute = EXPORTERS[name].partition(":")
    sources = getattr(importlib.import_module(module), attribute)
    # a subject of the stream stands for the stream: the consumer reads all of it
    return tuple(Consumer(source.stream.subjects[0], source.durable) for source in sources)


def _calls(name: str) -> tuple[str, ...]:
    wanted = CALLS.get(name, ())
    if "*" in wanted:
        return tuple(sorted(RPCS))
    return tuple(sorted(wanted))


def service_needs() -> list[ServiceNeeds]:
    """Every service of the registry (and the planned ones), in registry order."""
    from rivet_devstack.services import SERVICES

    found: list[ServiceNeeds] = []
    for spec in SERVICES:
        if not spec.installed():
            if spec.name not in PLANNED:
                raise SystemExit(f"{spec.name} is not installed: run `uv sync --all-packages`")
            continue
        runtime = _runtime(spec)
        consumers = tuple(Consumer(s.subject, s.consumer) for s in runtime.subscriptions)
        buckets = ((UPLOADS,) if runtime.uses_uploads else ()) + EXTRA_BUCKETS.get(spec.name, ())
        found.append(
            ServiceNeeds(
                name=spec.name,
                serves_rpc=bool(runtime.rpc_subjects),
                publishes=tuple(runtime.publishes),
                declares=tuple(runtime.streams()),
                consumers=consumers,
                dead_letters=runtime.db is not None and bool(consumers),
                buckets=tuple(dict.fromkeys(buckets)),
                read_buckets=READ_BUCKETS.get(spec.name, ()),
                kv_buckets=KEY_VALUE_BUCKETS.get(spec.name, ()),
                calls=_calls(spec.name),
                listens=tuple(sorted({subject for subject, _ in runtime.listened})),
                exports=_exports(spec.name),
            )
        )
    known = {n.name for n in found}
    for name, fallback in PLANNED.items():
        if name not in known:
            found.append(
                ServiceNeeds(
                    name=name,
                    serves_rpc=fallback.get("serves_rpc", False),
                    buckets=EXTRA_BUCKETS.get(name, ()),
                    calls=_calls(name),
                )
            )
    return found


# --- permissions --------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def user_name(service: str, namespace: str = "") -> str:
    return f"{namespace}_{service}" if namespace else service


def password_var(service: str, namespace: str = "") -> str:
    return "NATS_PASSWORD_" + user_name(service, namespace).upper()


def permissions(needs: ServiceNeeds, namespace: str = "") -> Permissions:
    settings = ServiceSettings(nats_namespace=namespace)
    subject, stream = settings.subject, settings.stream_name

    def pub() -> Iterator[str]:
        yield "$JS.API.INFO"
        for spec in needs.declares:  # the runtime declares (creates / updates) these streams
            for verb in ("INFO", "CREATE", "UPDATE"):
                yield f"$JS.API.STREAM.{verb}.{stream(spec.name)}"
        for c in needs.consumers:  # durable pull consumers it owns: create, inspect, fetch, ack
            s = stream(c.stream.name)
            yield f"$JS.API.STREAM.INFO.{s}"  # waits for the publisher to declare the stream
            yield f"$JS.API.CONSUMER.CREATE.{s}.{c.durable}.{subject(c.subject)}"
            yield f"$JS.API.CONSUMER.INFO.{s}.{c.durable}"
            yield f"$JS.API.CONSUMER.MSG.NEXT.{s}.{c.durable}"
            yield f"$JS.ACK.{s}.{c.durable}.>"
        for spec in needs.publishes:  # its own events (through the outbox)
            for event in sorted(EVENTS):
                if stream_for(event) == spec and event not in MACHINE_EVENTS:
                    yield subject(event)
        if needs.dead_letters:  # the messages its own consumers gave up on
            for c in needs.consumers:
                yield subject(f"{Events.DEAD_LETTER}.{c.durable}")
        for bucket in needs.buckets:  # object stores: stream OBJ_<bucket>, subjects $O.<bucket>.>
            b = stream(bucket)
            for verb in ("INFO", "CREATE", "PURGE", "MSG.GET"):
                yield f"$JS.API.STREAM.{verb}.OBJ_{b}"
            yield f"$JS.API.DIRECT.GET.OBJ_{b}"  # a chunk by sequence (streamed downloads)
            yield f"$JS.API.DIRECT.GET.OBJ_{b}.>"
            # reading: the client looks the stream up by subject, then reads with an ephemeral
            # ordered consumer
            yield "$JS.API.STREAM.NAMES"
            yield f"$JS.API.CONSUMER.CREATE.OBJ_{b}"
            yield f"$JS.API.CONSUMER.CREATE.OBJ_{b}.>"
            yield f"$JS.API.CONSUMER.DELETE.OBJ_{b}.>"
            yield f"$JS.FC.OBJ_{b}.>"  # flow-control replies of that consumer
            yield f"$O.{b}.>"
        for bucket in needs.read_buckets:  # another service's object store, read only
            b = stream(bucket)
            yield f"$JS.API.STREAM.INFO.OBJ_{b}"  # open the bucket
            yield f"$JS.API.STREAM.MSG.GET.OBJ_{b}"  # an object's metadata
            yield f"$JS.API.DIRECT.GET.OBJ_{b}"
            yield f"$JS.API.DIRECT.GET.OBJ_{b}.>"
            yield "$JS.API.STREAM.NAMES"  # its chunks: an ephemeral ordered consumer
            yield f"$JS.API.CONSUMER.CREATE.OBJ_{b}"
            yield f"$JS.API.CONSUMER.CREATE.OBJ_{b}.>"
            yield f"$JS.API.CONSUMER.DELETE.OBJ_{b}.>"
            yield f"$JS.FC.OBJ_{b}.>"
        for bucket in needs.kv_buckets:  # key-value: stream KV_<bucket>, subjects $KV.<bucket>.>
            b = stream(bucket)
            for verb in ("INFO", "CREATE", "UPDATE"):
                yield f"$JS.API.STREAM.{verb}.KV_{b}"
            yield f"$JS.API.DIRECT.GET.KV_{b}.$KV.{b}.>"  # a key's value (the bucket is direct)
            yield f"$KV.{b}.>"  # writes (compare-and-set), acknowledged on its inbox
        for rpc in needs.calls:  # requests to other services
            yield subject(rpc)
        for c in needs.exports:  # the exporter: a durable consumer of each whole domain stream
            s = stream(c.stream.name)
            yield f"$JS.API.STREAM.INFO.{s}"
            yield f"$JS.API.CONSUMER.CREATE.{s}.{c.durable}"
            yield f"$JS.API.CONSUMER.INFO.{s}.{c.durable}"
            yield f"$JS.API.CONSUMER.MSG.NEXT.{s}.{c.durable}"
            yield f"$JS.ACK.{s}.{c.durable}.>"
        if needs.exports:  # ... copied into the organizations' streams, created on first need
            # (a stream name is one token: ``*``, with Rivet's other streams denied below)
            yield "$JS.API.STREAM.INFO.*"
            yield "$JS.API.STREAM.CREATE.*"
            yield subject(f"{ORG_SUBJECT_PREFIX}.*.>")
            # webhooks read the organizations' streams: ephemeral consumers (created, pulled,
            # deleted) and one message by sequence (a redelivery); Rivet's streams denied below
            yield "$JS.API.CONSUMER.CREATE.*"
            yield "$JS.API.CONSUMER.MSG.NEXT.*.*"
            yield "$JS.API.CONSUMER.DELETE.*.*"
            yield "$JS.API.STREAM.MSG.GET.*"

    def deny() -> Iterator[str]:
        if needs.exports:
            buckets = {UPLOADS}.union(*EXTRA_BUCKETS.values())
            own = {spec.name for spec in needs.publishes}  # declared by this service itself
            names = [stream(spec.name) for spec in ALL_STREAMS if spec.name not in own]
            names += [f"OBJ_{stream(b)}" for b in sorted(buckets)]
            kv = {b for bs in KEY_VALUE_BUCKETS.values() for b in bs}
            names += [f"KV_{stream(b)}" for b in sorted(kv)]
            for name in names:
                yield f"$JS.API.STREAM.CREATE.{name}"
            for name in [stream(spec.name) for spec in ALL_STREAMS] + names:
                yield f"$JS.API.CONSUMER.CREATE.{name}"  # an ephemeral reader of Rivet's
                yield f"$JS.API.CONSUMER.DELETE.{name}.*"
                yield f"$JS.API.STREAM.MSG.GET.{name}"

    def sub() -> Iterator[str]:
        # Replies to its requests, JetStream API answers, fetched messages: its own inbox
        # prefix only (see rivet_runtime.broker.inbox_prefix), so no service reads another's.
        yield f"{inbox_prefix(needs.name, namespace)}.>"
        if needs.serves_rpc:
            yield subject(f"rpc.{needs.name}.>")
        for event in needs.listens:  # events every replica hears as they are published
            yield subject(event)

    return Permissions(
        user=user_name(needs.name, namespace),
        password_var=password_var(needs.name, namespace),
        publish=_unique(pub()),
        subscribe=_unique(sub()),
        # Replies go only to the inbox of a request this user received, once.
        allow_responses=needs.serves_rpc,
        deny_publish=_unique(deny()),
    )


def machine_permissions(machine: Machine, namespace: str = "") -> Permissions:
    """Publish the machine's organization's reading subjects (single readings and batches),
    nothing else; receive the acknowledgements of its publishes on its own inbox prefix."""
    settings = ServiceSettings(nats_namespace=namespace)
    return Permissions(
        user=user_name(machine.user, namespace),
        password_var=password_var(machine.user, namespace),
        publish=[
            settings.subject(reading_subject(machine.org_id)),
            settings.subject(reading_batch_subject(machine.org_id)),
        ],
        subscribe=[f"{inbox_prefix(machine.user, namespace)}.>"],
    )


def integration_permissions(integration: Integration, namespace: str = "") -> Permissions:
    """Durable consumers of its organization's stream only: create (or update), inspect, list,
    delete, pull from, acknowledge; the stream's info; replies on its own inbox prefix. No
    subject of Rivet's, no other stream, nothing to publish into a stream."""
    settings = ServiceSettings(nats_namespace=namespace)
    s = settings.stream_name(org_stream(integration.org_id).name)
    api = "$JS.API"
    return Permissions(
        user=user_name(integration.user, namespace),
        password_var=password_var(integration.user, namespace),
        publish=[
            f"{api}.INFO",
            f"{api}.STREAM.INFO.{s}",
            f"{api}.CONSUMER.CREATE.{s}.*",  # a named consumer (create or update)
            f"{api}.CONSUMER.CREATE.{s}.*.>",  # ... with a filter subject
            f"{api}.CONSUMER.DURABLE.CREATE.{s}.*",  # older clients' form
            f"{api}.CONSUMER.INFO.{s}.*",
            f"{api}.CONSUMER.DELETE.{s}.*",
            f"{api}.CONSUMER.LIST.{s}",
            f"{api}.CONSUMER.NAMES.{s}",
            f"{api}.CONSUMER.MSG.NEXT.{s}.*",
            f"$JS.ACK.{s}.>",
        ],
        subscribe=[f"{inbox_prefix(integration.user, namespace)}.>"],
    )


def all_permissions(
    namespace: str = "",
    machines: Iterable[Machine] = (),
    integrations: Iterable[Integration] = (),
) -> list[Permissions]:
    services = [permissions(n, namespace) for n in service_needs()]
    taken = {p.user for p in services} | {user_name(ADMIN, namespace)}
    added = [machine_permissions(m, namespace) for m in machines]
    added += [integration_permissions(i, namespace) for i in integrations]
    for p in added:
        if p.user in taken:
            raise ValueError(f"two users named {p.user!r}: give each one its own name")
        taken.add(p.user)
    return services + added


# --- rendering ----------------------------------------------------------------------------------

HEADER = (
    "# Generated by deploy/nats/permissions.py from the contracts catalogue and the services'\n"
    "# runtimes: do not edit; run `uv run python deploy/nats/permissions.py --write`.\n"
)


def _list(items: list[str], indent: str) -> str:
    inner = "".join(f'{indent}  "{item}"\n' for item in items)
    return f"[\n{inner}{indent}]"


def render_conf(
    namespace: str = "",
    *,
    admin: bool = True,
    machines: Iterable[Machine] = (),
    integrations: Iterable[Integration] = (),
) -> str:
    """The ``authorization`` block (nats-server configuration syntax)."""
    users = []
    for p in all_permissions(namespace, machines, integrations):
        ind = "        "
        deny = f", deny: {_list(p.deny_publish, ind + '  ')}" if p.deny_publish else ""
        perms = [
            f"publish: {{ allow: {_list(p.publish, ind + '  ')}{deny} }}",
            f"subscribe: {{ allow: {_list(p.subscribe, ind + '  ')} }}",
        ]
        if p.allow_responses:
            perms.append("allow_responses: true")
        body = "".join(f"{ind}{line}\n" for line in perms)
        users.append(
            "    {\n"
            f'      user: "{p.user}"\n'
            f"      password: ${p.password_var}\n"
            f"      permissions: {{\n{body}      }}\n"
            "    }\n"
        )
    if admin:
        users.append(
            "    # operators only (nats CLI, backups): every subject\n"
            f'    {{ user: "{user_name(ADMIN, namespace)}", '
            f"password: ${password_var(ADMIN, namespace)} }}\n"
        )
    return HEADER + "authorization {\n  users: [\n" + "".join(users) + "  ]\n}\n"


def render_helm_env(
    namespace: str = "",
    secret: str = "rivet-nats-users",  # noqa: S107
    machines: Iterable[Machine] = (),
    integrations: Iterable[Integration] = (),
) -> str:
    """``container.env`` entries of the NATS Helm chart: each password from a Secret key."""
    lines = []
    users = [p.user for p in all_permissions(namespace, machines, integrations)]
    users.append(user_name(ADMIN, namespace))
    for user in users:
        lines.append(
            f"{'NATS_PASSWORD_' + user.upper()}:\n"
            f"  valueFrom: {{secretKeyRef: {{name: {secret}, key: {user}}}}}\n"
        )
    return "".join(lines)


BEGIN, END = "# >>> generated by deploy/nats/permissions.py: ", "# <<< end of generated "


def replace_region(text: str, name: str, content: str) -> str:
    """Put ``content`` between the marker lines of region ``name``, indented like the markers."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.strip() == (BEGIN + name).strip())
    stop = next(i for i, ln in enumerate(lines) if ln.strip() == (END + name).strip())
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    body = [indent + ln if ln.strip() else ln for ln in content.splitlines(keepends=True)]
    return "".join(lines[: start + 1] + body + lines[stop:])


def helm_values(
    text: str,
    namespace: str = "",
    machines: Iterable[Machine] = (),
    integrations: Iterable[Integration] = (),
) -> str:
    conf = render_conf(namespace, machines=machines, integrations=integrations)
    text = replace_region(text, "auth-conf", "rivet-auth.conf: |\n" + _indent(conf, "  "))
    env = render_helm_env(namespace, machines=machines, integrations=integrations)
    return replace_region(text, "auth-env", env)


def _indent(text: str, prefix: str) -> str:
    return "".join(prefix + ln if ln.strip() else ln for ln in text.splitlines(keepends=True))


# --- consistency with the code (used by the tests) ------------------------------------------------


def _contract_modules(tree: ast.AST) -> dict[str, Any]:
    """Names bound to contracts modules in a file (``from rivet_contracts import assets``)."""
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "rivet_contracts":
            for alias in node.names:
                try:
                    module = importlib.import_module(f"rivet_contracts.{alias.name}")
                except ImportError:
                    continue  # a class or function of the package, not a module
                found[alias.asname or alias.name] = module
    return found


def referenced_requests(service: str) -> set[str]:
    """Request subjects a service's source names outside its own ``rpc.<name>.``: ``Rpc.X``,
    and the specs of typed calls (``ctx.call(assets.GET, ...)``: ``<contracts module>.X``)."""
    names = {k: v for k, v in vars(Rpc).items() if k.isupper()}
    found: set[str] = set()
    for path in (ROOT / "services" / service / "src").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        modules = _contract_modules(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            subject: str | None = None
            if node.value.id == "Rpc" and node.attr in names:
                subject = names[node.attr]
            elif node.value.id in modules:
                spec = getattr(modules[node.value.id], node.attr, None)
                if isinstance(spec, RpcSpec):
                    subject = spec.subject
            if subject is not None and not subject.startswith(f"rpc.{service}."):
                found.add(subject)
    return found


def referenced_buckets(service: str) -> set[str]:
    """``bucket="X"`` keyword arguments in a service's source (object stores it opens)."""
    found: set[str] = set()
    for path in (ROOT / "services" / service / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "bucket"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found.add(node.value.value)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default="", help="NATS_NAMESPACE of the deployment")
    parser.add_argument("--format", choices=["conf", "helm-env"], default="conf")
    parser.add_argument(
        "--machine",
        action="append",
        default=[],
        metavar="NAME=ORG_ID",
        help="a machine that sends its organization's readings: user machine_NAME, password "
        "$NATS_PASSWORD_MACHINE_NAME (repeat for each machine)",
    )
    parser.add_argument(
        "--integration",
        action="append",
        default=[],
        metavar="NAME=ORG_ID",
        help="an outside subscriber of its organization's events: user integration_NAME, "
        "password $NATS_PASSWORD_INTEGRATION_NAME (repeat for each)",
    )
    parser.add_argument(
        "--write", action="store_true", help=f"update {CONF_FILE.name} and {HELM_VALUES.name}"
    )
    args = parser.parse_args(argv)
    try:
        machines = [Machine.parse(m) for m in args.machine]
        integrations = [Integration.parse(i) for i in args.integration]
        # names clash: say so before writing
        all_permissions(args.namespace, machines, integrations)
    except ValueError as exc:
        parser.error(str(exc))
    if args.write:
        CONF_FILE.write_text(
            render_conf(args.namespace, machines=machines, integrations=integrations)
        )
        HELM_VALUES.write_text(
            helm_values(HELM_VALUES.read_text(), args.namespace, machines, integrations)
        )
        print(f"wrote {CONF_FILE.relative_to(ROOT)} and {HELM_VALUES.relative_to(ROOT)}")
        return 0
    if args.format == "conf":
        out = render_conf(args.namespace, machines=machines, integrations=integrations)
    else:
        out = render_helm_env(args.namespace, machines=machines, integrations=integrations)
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
