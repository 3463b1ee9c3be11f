"""Helpers run as their own processes by test_deploy_systemd.py (not a test module).

python netns_helper.py anchor
    (under `unshare --net`) bring the new network namespace's loopback up, print "ready",
    then hold the namespace until standard input closes
python netns_helper.py relay SOCKET=HOST:PORT ...
    accept connections on each Unix socket and pass their bytes to HOST:PORT and back (a
    path is not bound to a network namespace: the test reaches the services inside it, and
    they reach the PostgreSQL outside it, through such sockets)
"""

import asyncio
import contextlib
import fcntl
import os
import socket
import struct
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _relay(pairs: list[tuple[str, str, int]]) -> None:
    servers = []
    for path, host, port in pairs:

        async def handle(
            reader: asyncio.StreamReader,
            writer: asyncio.StreamWriter,
            host: str = host,
            port: int = port,
        ) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        servers.append(await asyncio.start_unix_server(handle, path))
        os.chmod(path, 0o777)  # noqa: S103 - the services run as an unprivileged user
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "anchor":
        loopback_up()
        print("ready", flush=True)
        sys.stdin.read()  # until the test closes it (or dies)
        return
    if command == "relay":
        pairs = []
        for arg in args:
            path, _, target = arg.partition("=")
            host, _, port = target.rpartition(":")
            pairs.append((path, host, int(port)))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_relay(pairs))
        return
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
