"""``rivet-dev import rivet-pro``: bring a Rivet Pro database's users, equipment and work orders
into one Rivet organization (docs/migrating-from-rivet-pro.md)."""

import argparse
import asyncio
import getpass
import os
import sys
import time
from pathlib import Path
from typing import IO

import asyncpg
import nats.errors

from rivet_contracts import ErrorCode, Role, ServiceError
from rivet_contracts import auth as auth_contract

from . import source
from .bus import Bus, identity_from_token
from .importer import Importer, Progress, Report, Result, summary_lines

PASSWORD_VARIABLE = "RIVET_ADMIN_PASSWORD"


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "import",
        help="import another system's data through the services' own requests",
        description=__doc__,
    )
    parser.add_argument("system", choices=["rivet-pro"], help="what the data comes from")
    parser.add_argument(
        "--from", dest="source_url", required=True,
        help="the Rivet Pro database, postgresql://user:password@host:5432/name (read only)",
    )  # fmt: skip
    parser.add_argument(
        "--admin-email", required=True,
        help="the Rivet admin the import acts as; the organization is theirs "
        f"(password from ${PASSWORD_VARIABLE}, else asked)",
    )  # fmt: skip
    parser.add_argument(
        "--create-org", metavar="NAME",
        help="register this organization with the admin first, unless the admin can log in",
    )  # fmt: skip
    parser.add_argument("--admin-name", help="the admin's name when --create-org registers them")
    parser.add_argument("--dry-run", action="store_true", help="decide every row; send no change")
    parser.add_argument(
        "--report", type=Path, default=Path("rivet-pro-import.jsonl"),
        help="per-row report, JSON lines (default: rivet-pro-import.jsonl)",
    )  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (8)")
    parser.add_argument(
        "--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
        help="Rivet's NATS, with a user allowed the rpc subjects (default $NATS_URL)",
    )  # fmt: skip
    parser.add_argument(
        "--namespace", default=os.environ.get("NATS_NAMESPACE", ""),
        help="Rivet's NATS namespace, if it has one (default $NATS_NAMESPACE)",
    )  # fmt: skip


def main(args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(
        f"password of {args.admin_email}: "
    )
    try:
        result = asyncio.run(run(args, password))
    except ServiceError as exc:
        print(f"rivet-import: {exc.code.value}: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError, nats.errors.Error) as exc:
        print(f"rivet-import: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 1 if result.failed else 0


async def run(
    args: argparse.Namespace,
    password: str,
    *,
    out: IO[str] = sys.stdout,
    err: IO[str] | None = sys.stderr,
) -> Result:
    started = time.monotonic()
    bus = await Bus.connect(args.nats, args.namespace)
    try:
        await sign_in(bus, args, password, out)
        snapshot = await source.read(args.source_url)
        print(
            f"rivet-import: Rivet Pro has {len(snapshot.users)} users, {len(snapshot.equipment)} "
            f"assets, {len(snapshot.work_orders)} work orders"
            + (" (dry run: nothing is sent)" if args.dry_run else ""),
            file=out,
        )
        args.report.parent.mkdir(parents=True, exist_ok=True)
        with args.report.open("w", encoding="utf-8") as report_file:
            importer = Importer(
                bus, Report(report_file), dry_run=args.dry_run, concurrency=args.concurrency,
                progress=Progress(err),
            )  # fmt: skip
            result = await importer.run(snapshot)
    finally:
        await bus.close()
    for line in summary_lines(result, time.monotonic() - started):
        print(f"rivet-import: {line}", file=out)
    slowest = sorted(bus.timings.items(), key=lambda item: -item[1][1])[:4]
    print(
        "rivet-import: time in requests: "
        + ", ".join(f"{s} {n:.0f} x {t / max(n, 1) * 1000:.0f} ms" for s, (n, t) in slowest),
        file=out,
    )
    print(f"rivet-import: every row's outcome is in {args.report}", file=out)
    return result


async def sign_in(bus: Bus, args: argparse.Namespace, password: str, out: IO[str]) -> None:
    """Log in as the admin (registering them with a new organization first when asked): the
    import acts as them."""
    try:
        tokens = await bus.call(
            auth_contract.LOGIN, auth_contract.LogIn(email=args.admin_email, password=password),
            anonymous=True,
        )  # fmt: skip
    except ServiceError as exc:
        if exc.code is not ErrorCode.UNAUTHORIZED or not args.create_org:
            raise
        if args.dry_run:
            raise ServiceError(
                ErrorCode.BAD_REQUEST, "a dry run creates no organization: register it first"
            ) from None
        await bus.call(
            auth_contract.REGISTER,
            auth_contract.RegisterUser(
                email=args.admin_email, password=password,
                full_name=args.admin_name or args.admin_email.split("@")[0],
                organization_name=args.create_org,
            ),
            anonymous=True,
        )  # fmt: skip
        print(
            f"rivet-import: registered {args.create_org!r} with its admin {args.admin_email}",
            file=out,
        )
        tokens = await bus.call(
            auth_contract.LOGIN, auth_contract.LogIn(email=args.admin_email, password=password),
            anonymous=True,
        )  # fmt: skip
    bus.identity = identity_from_token(tokens.access_token)
    if bus.identity.role is not Role.ADMIN:
        raise ServiceError(ErrorCode.FORBIDDEN, f"{args.admin_email} is not an admin")
    org = await bus.call(auth_contract.GET_ORGANIZATION, auth_contract.GetOrganization())
    print(f"rivet-import: importing into {org.name!r} ({org.id}) as {args.admin_email}", file=out)
