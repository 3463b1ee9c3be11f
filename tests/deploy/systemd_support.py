"""Systemd units read and run the way systemd runs them, for a machine without systemd as its
init (a container, CI): what test_deploy_systemd.py starts its services with.

``Unit`` parses a unit file (a template with its instance) and resolves what the service
process gets: the command lines (ExecStartPre=, ExecStart=), the environment (a clean one with
systemd's PATH, then Environment= and EnvironmentFile= in systemd's order and quoting), the
credentials (LoadCredential=, ``%d``), the state directory (StateDirectory=), the user and the
privileges (User=, NoNewPrivileges=, CapabilityBoundingSet=, AmbientCapabilities=, UMask=).
``Supervisor`` runs units: ExecStartPre= to completion first, then ExecStart=, restarting on
failure after RestartSec= (Restart=on-failure), stopping with SIGTERM and TimeoutStopSec=.

What it does not do: cgroup limits (MemoryMax=, CPUQuota=, TasksMax=) and the namespace
sandboxing (ProtectSystem=, PrivateTmp=, SystemCallFilter=, ...): ``systemd-analyze verify``
and ``systemd-analyze security`` check those. Paths of the machine the units are written for
(/etc/rivet, /opt/rivet/venv, ...) are mapped to the test's (``paths``); nothing else changes.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH systemd gives a system service."""

_SPECIFIER = re.compile(r"%(.)")
KEEP_EMPTY = ("CapabilityBoundingSet", "AmbientCapabilities")
"""Keys whose empty value means something (no capabilities) rather than a reset."""


@dataclass
class Unit:
    name: str
    """``rivet-auth@8101.service``."""
    path: Path
    """The unit file (the template's for an instance)."""
    options: dict[str, dict[str, list[str]]]
    paths: dict[str, str] = field(default_factory=dict)
    """Path prefix on the target machine -> path here."""

    @classmethod
    def load(
        cls,
        folder: Path,
        name: str,
        paths: dict[str, str] | None = None,
        drop_ins: Sequence[Path] = (),
    ) -> Unit:
        prefix, at, rest = name.partition("@")
        file = folder / (f"{prefix}@{rest[rest.index('.') :]}" if at and rest else name)
        if at and rest and (folder / name).exists():
            file = folder / name
        options: dict[str, dict[str, list[str]]] = {}
        for source in (file, *drop_ins):
            parse_unit_text(source.read_text(), options)
        return cls(name, file, options, dict(paths or {}))

    # --- specifiers and paths --------------------------------------------------------------

    @property
    def instance(self) -> str:
        _, at, rest = self.name.partition("@")
        return rest.rsplit(".", 1)[0] if at else ""

    @property
    def prefix(self) -> str:
        return self.name.partition("@")[0].rsplit(".", 1)[0]

    def credentials_dir(self, root: Path) -> Path:
        return root / "credentials" / self.name

    def expand(self, value: str, credentials: Path) -> str:
        table = {
            "i": self.instance,
            "I": self.instance,
            "n": self.name,
            "N": self.name.rsplit(".", 1)[0],
            "p": self.prefix,
            "d": str(credentials),
            "%": "%",
        }

        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in table:
                raise ValueError(f"{self.name}: specifier %{key} is not supported by this test")
            return table[key]

        return _SPECIFIER.sub(one, value)

    def map_path(self, value: str) -> str:
        for there, here in sorted(self.paths.items(), key=lambda p: -len(p[0])):
            if value == there or value.startswith(there.rstrip("/") + "/"):
                return here + value[len(there) :]
        return value

    # --- options ---------------------------------------------------------------------------

    def get(self, section: str, key: str) -> list[str]:
        return self.options.get(section, {}).get(key, [])

    def last(self, section: str, key: str, default: str = "") -> str:
        values = self.get(section, key)
        return values[-1] if values else default

    def seconds(self, key: str, default: float) -> float:
        value = self.last("Service", key)
        if not value:
            return default
        if value == "infinity":
            return float("inf")
        total = 0.0
        for number, unit in re.findall(r"([\d.]+)\s*(min|ms|s|h)?", value):
            total += float(number) * {"": 1, "s": 1, "ms": 0.001, "min": 60, "h": 3600}[unit]
        return total


def parse_unit_text(text: str, options: dict[str, dict[str, list[str]]]) -> None:
    """systemd's unit syntax: sections, ``Key=value`` (repeatable; an empty value resets a
    list), comments, line continuations."""
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            options.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        values = options.setdefault(section, {}).setdefault(key.strip(), [])
        if value.strip() == "" and key.strip() not in KEEP_EMPTY:
            values.clear()  # an empty assignment resets the list
            continue
        values.append(value.strip())


def parse_environment_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines as systemd reads an EnvironmentFile=: comments, blank lines, values
    in single or double quotes, backslash escapes outside single quotes; an unquoted value keeps
    its inner quotes and loses its trailing blanks."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.lstrip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            body = value[1:-1]
            value = body if value[0] == "'" else re.sub(r"\\(.)", r"\1", body)
        else:
            value = re.sub(r"\\(.)", r"\1", value).rstrip()
        found[key.strip()] = value
    return found


def _substitute(words: list[str], env: dict[str, str]) -> list[str]:
    """``${VAR}`` as one word, ``$VAR`` alone as several (systemd's rule)."""
    out: list[str] = []
    for word in words:
        if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", word):
            out += env.get(word[1:], "").split()
            continue
        out.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], ""), word))
    return out


@dataclass
class Prepared:
    """What a unit's processes get."""

    env: dict[str, str]
    pre: list[tuple[list[str], bool]]
    """ExecStartPre= commands, each with whether a failure is ignored (``-``)."""
    start: list[str]
    user: pwd.struct_passwd
    privileges: list[str]
    """setpriv's options for the user and privileges."""
    umask: int


def prepare(unit: Unit, root: Path, users: dict[str, str], extra_env: dict[str, str]) -> Prepared:
    """Resolve everything the unit's processes get. ``users`` maps a User= that does not exist
    here to one that does (the test machine has no ``rivet`` user); ``root`` holds the unit's
    credentials and state directories."""
    wanted = unit.last("Service", "User", "root")
    user = pwd.getpwnam(users.get(wanted, wanted))
    credentials = unit.credentials_dir(root)
    env = {
        "PATH": SYSTEMD_PATH,
        "LANG": "C.UTF-8",
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "HOME": user.pw_dir,
        "SHELL": user.pw_shell,
    }
    for assignment in unit.get("Service", "Environment"):
        for word in shlex.split(unit.expand(assignment, credentials)):
            key, _, value = word.partition("=")
            env[key] = value
    for item in unit.get("Service", "EnvironmentFile"):
        optional = item.startswith("-")
        path = Path(unit.map_path(unit.expand(item.lstrip("-"), credentials)))
        if not path.exists():
            if optional:
                continue
            raise FileNotFoundError(f"{unit.name}: EnvironmentFile {path} is missing")
        env |= parse_environment_file(path.read_text())  # files override Environment=
    loaded = unit.get("Service", "LoadCredential")
    if loaded:
        credentials.mkdir(parents=True, exist_ok=True)
        for item in loaded:
            ident, _, source = item.partition(":")
            target = credentials / ident
            shutil.copyfile(unit.map_path(source), target)
            os.chown(target, user.pw_uid, user.pw_gid)
            os.chmod(target, 0o400)
        os.chown(credentials, user.pw_uid, user.pw_gid)
        os.chmod(credentials, 0o500)
        env["CREDENTIALS_DIRECTORY"] = str(credentials)
    states = [s for item in unit.get("Service", "StateDirectory") for s in item.split()]
    for name in states:
        state = root / "state" / name
        state.mkdir(parents=True, exist_ok=True)
        os.chown(state, user.pw_uid, user.pw_gid)
        os.chmod(state, int(unit.last("Service", "StateDirectoryMode", "0755"), 8))
    if states:
        env["STATE_DIRECTORY"] = ":".join(str(root / "state" / s) for s in states)
    env |= extra_env

    def command(line: str) -> tuple[list[str], bool]:
        ignore = line.startswith("-")
        line = line.lstrip("-")
        if line[:1] in "@:+!":
            raise ValueError(f"{unit.name}: the prefix of {line!r} is not supported by this test")
        words = _substitute(shlex.split(unit.expand(line, credentials)), env)
        return [unit.map_path(word) for word in words], ignore

    starts = unit.get("Service", "ExecStart")
    assert len(starts) == 1, f"{unit.name}: one ExecStart= expected"
    privileges = [f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
    if unit.last("Service", "NoNewPrivileges") in ("yes", "true", "1"):
        privileges.append("--no-new-privs")
    bounding = unit.get("Service", "CapabilityBoundingSet")
    ambient = [
        c.lower().removeprefix("cap_")
        for item in unit.get("Service", "AmbientCapabilities")
        for c in item.split()
    ]
    if ambient:
        caps = ",".join(f"+{c}" for c in ambient)
        privileges += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]
    if bounding == [""]:
        privileges.append("--bounding-set=-all")
    elif ambient:
        privileges.append("--bounding-set=-all," + ",".join(f"+{c}" for c in ambient))
    return Prepared(
        env=env,
        pre=[command(line) for line in unit.get("Service", "ExecStartPre")],
        start=command(starts[0])[0],
        user=user,
        privileges=privileges,
        umask=int(unit.last("Service", "UMask", "0022"), 8),
    )


@dataclass
class Running:
    unit: Unit
    prepared: Prepared
    proc: subprocess.Popen[bytes] | None = None
    failed_at: float | None = None
    starts: int = 0
    pre_failures: int = 0
    starting: threading.Thread | None = None
    """The start under way (ExecStartPre= first), as systemd starts units side by side."""

    @property
    def busy(self) -> bool:
        return self.starting is not None and self.starting.is_alive()


class Supervisor:
    """Runs units in a network namespace (``netns``: a process's /proc/<pid>/ns/net), each
    process as its unit's user, its output appended to ``logs/<unit>.log``."""

    def __init__(
        self,
        root: Path,
        netns: str,
        users: dict[str, str],
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.netns = netns
        self.users = users
        self.units: dict[str, Running] = {}
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.on_start = on_start

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def _argv(self, prepared: Prepared, argv: list[str]) -> list[str]:
        return [
            "nsenter",
            f"--net={self.netns}",
            "--",
            "setpriv",
            *prepared.privileges,
            "--",
            *argv,
        ]

    def _run(self, running: Running) -> None:
        prepared = running.prepared
        name = running.unit.name
        with self.log(name).open("ab") as out:
            for argv, ignore in prepared.pre:
                out.write(f"\n===== ExecStartPre: {' '.join(argv)}\n".encode())
                out.flush()
                timeout = running.unit.seconds("TimeoutStartSec", 90)
                code = subprocess.call(
                    self._argv(prepared, argv),
                    env=prepared.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd="/",
                    umask=prepared.umask,
                    timeout=timeout,
                )
                if code != 0 and not ignore:
                    running.pre_failures += 1
                    running.failed_at = time.monotonic()
                    running.proc = None
                    return
            out.write(f"\n===== ExecStart: {' '.join(prepared.start)}\n".encode())
            out.flush()
            running.proc = subprocess.Popen(
                self._argv(prepared, prepared.start),
                env=prepared.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd="/",
                umask=prepared.umask,
                start_new_session=True,
            )
        running.starts += 1
        running.failed_at = None

    def start(self, unit: Unit, extra_env: dict[str, str] | None = None) -> Running:
        running = Running(unit, prepare(unit, self.root, self.users, extra_env or {}))
        self.units[unit.name] = running
        self._start(running)
        return running

    def _start(self, running: Running) -> None:
        running.failed_at = None
        running.starting = threading.Thread(target=self._run, args=(running,), daemon=True)
        running.starting.start()

    def tend(self) -> None:
        """Restart=on-failure: a unit whose process failed (or whose ExecStartPre= did) starts
        again RestartSec= later."""
        now = time.monotonic()
        for running in self.units.values():
            policy = running.unit.last("Service", "Restart", "no")
            if policy not in ("on-failure", "always") or running.busy:
                continue
            proc = running.proc
            if proc is not None and proc.poll() is not None:
                if proc.returncode == 0 and policy == "on-failure":
                    continue
                running.proc = None
                running.failed_at = now
            due = running.failed_at is not None and (
                now - running.failed_at >= running.unit.seconds("RestartSec", 0.1)
            )
            if running.proc is None and due:
                self._start(running)

    def pid(self, name: str) -> int:
        proc = self.units[name].proc
        assert proc is not None, f"{name} is not running"
        return proc.pid

    def stop_all(self) -> None:
        for running in self.units.values():
            if running.starting is not None:
                running.starting.join(120)  # an ExecStartPre= under way finishes first
        for running in reversed(list(self.units.values())):
            proc = running.proc
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for running in reversed(list(self.units.values())):
            proc = running.proc
            if proc is None:
                continue
            try:
                proc.wait(min(running.unit.seconds("TimeoutStopSec", 90), 30))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
