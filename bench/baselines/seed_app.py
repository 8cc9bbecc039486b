"""BASELINE, not our receiver: the seed project's architecture, for bench/receiver_load.py to compare against.

A Flask app that checks the secret, starts a thread for the work and answers 200, under gunicorn with 4 sync
workers. Nothing is stored: a crash loses the brief, which is what our outbox exists to prevent. Run:
`SHARED_SECRET=s python -m gunicorn -c python:bench.baselines.seed_app bench.baselines.seed_app:app -b 127.0.0.1:0`
(this module is also the gunicorn config: 4 workers, and the `ready <url>` line the benchmarks wait for).
"""

from __future__ import annotations

import hmac
import os
import threading
from typing import Any

from flask import Flask, request

app = Flask(__name__)
SECRET = os.environ.get("SHARED_SECRET", "").encode()

workers = 4  # gunicorn setting


def work(brief: dict[str, Any]) -> None:
    """The seed generated and deployed here, in the web worker's thread; the accept path is what is measured."""


@app.post("/api-endpoint")
def accept() -> tuple[dict[str, str], int]:
    brief = request.get_json(force=True, silent=True)
    if not isinstance(brief, dict) or not hmac.compare_digest(str(brief.get("secret", "")).encode(), SECRET):
        return {"error": "forbidden"}, 403
    threading.Thread(target=work, args=(brief,), daemon=True).start()
    return {"status": "accepted"}, 200


def when_ready(server: Any) -> None:
    """gunicorn hook: print the bound address (port 0 picks a free one) as every benchmark server does."""
    print(f"ready {server.LISTENERS[0]}", flush=True)
