"""`deployer serve`: read the settings, bind, serve until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from aiohttp import web

from deployer.serving import base_url, bind_socket, run_servers
from receiver import events
from receiver.app import build_app
from receiver.config import ConfigError, load_settings, loopback_only_warning
from receiver.memory import fix_mmap_threshold


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(os.environ, host=args.host, port=args.port)
    except ConfigError as exc:
        print(f"deployer serve: {exc}", file=sys.stderr)
        return 2
    events.configure()
    fix_mmap_threshold()

    async def make() -> tuple[list[tuple[web.Application, socket.socket]], str]:
        sock = bind_socket(settings.host, settings.port)
        url = base_url(sock)
        public_url = settings.public_url or url
        app = build_app(settings.with_public_url(url))
        events.event("starting", url=url, repo=settings.repo, data_dir=settings.data_dir, sync=settings.outbox_sync)
        if (problem := loopback_only_warning(public_url, settings.github_api_url)) is not None:
            events.event("warning", level=logging.WARNING, problem=problem)
        return [(app, sock)], url

    return run_servers(make)
