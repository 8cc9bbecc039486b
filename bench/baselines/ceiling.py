"""BASELINE, not our receiver: the ceiling for bench/receiver_load.py, a bare aiohttp handler that reads the body
and answers 200 (no JSON, no secret, no outbox). `python -m bench.baselines.ceiling` prints `ready <url>`."""

from __future__ import annotations

import socket
import sys

from aiohttp import web

from deployer.serving import base_url, bind_socket, run_servers


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="ok")


def main() -> int:
    async def make() -> tuple[list[tuple[web.Application, socket.socket]], str]:
        app = web.Application(client_max_size=1024**3)
        app.router.add_post("/api-endpoint", accept)
        sock = bind_socket("127.0.0.1", 0)
        return [(app, sock)], base_url(sock)

    return run_servers(make)


if __name__ == "__main__":
    sys.exit(main())
