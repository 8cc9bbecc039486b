"""Run aiohttp apps the way every `deployer` server does: bind, print `ready <url>`, stop cleanly on SIGTERM.

Binding the socket ourselves (instead of letting aiohttp do it) gives the real port when 0 was asked for,
and turns a busy port into one clear error instead of a traceback.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web


class PortInUse(RuntimeError):
    pass


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve_forever(
    apps: Sequence[tuple[web.Application, socket.socket]],
    ready: str,
    *,
    shutdown_timeout: float = 10.0,
    on_started: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests get `shutdown_timeout` seconds to finish."""
    runners: list[web.AppRunner] = []
    try:
        for app, sock in apps:
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.SockSite(runner, sock, shutdown_timeout=shutdown_timeout).start()
            runners.append(runner)
        if on_started is not None:
            await on_started()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"ready {ready}", flush=True)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def run_servers(make: Callable[[], Awaitable[tuple[list[tuple[web.Application, socket.socket]], str]]]) -> int:
    """Entry point helper: `make` builds the apps inside the loop; a busy port is one line on stderr, exit 1."""

    async def main() -> None:
        apps, ready = await make()
        await serve_forever(apps, ready)

    try:
        asyncio.run(main())
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
