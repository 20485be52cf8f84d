"""`switchboard serve`: uvicorn running the app, with the demo data seeded first when asked."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import fields
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from app.main import create_app
from config.settings import ENV_NAMES, Settings, load

log = logging.getLogger("switchboard")
# frames up to this size reach the application, which refuses those over max_frame_bytes with an error
# frame and keeps the socket; larger ones are closed by the protocol layer (1009)
WS_PROTOCOL_LIMIT = 1024 * 1024


def serve(settings: Settings) -> int:
    if settings.demo:
        from config.demo import seed

        for line in asyncio.run(seed(settings)):
            log.info("demo: %s", line)
    base = f"http://{settings.host}:{settings.port}"
    log.info(
        "Switchboard on %s  |  demo page %s/demo  |  API %s/api (OpenAPI %s/openapi.json)",
        base,
        base,
        base,
        base,
    )
    if settings.workers > 1:
        return _serve_workers(settings)
    uvicorn.Server(uvicorn_config(settings)).run()
    return 0


def _serve_workers(settings: Settings) -> int:
    """`--workers N`: uvicorn's process manager binds the port once and runs N workers on it (it restarts
    one that dies). Each worker reads the settings from the environment, set here from flags and env alike;
    the workers share PostgreSQL and the Redis bus, and one of them at a time runs the SMTP listener and
    the IMAP poller (app.main.take_lead)."""
    for f in fields(Settings):
        if f.name in ENV_NAMES:
            os.environ[ENV_NAMES[f.name]] = str(getattr(settings, f.name))
    config = uvicorn_config(settings, app="app.serve:worker_app", factory=True, workers=settings.workers)
    log.info("%d workers on port %s", settings.workers, settings.port)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
    return 0


def worker_app() -> Any:
    """The app of one `--workers` worker (uvicorn calls this in each worker process, a fresh interpreter:
    logging is set up as the command line does)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return create_app(load())


def uvicorn_config(settings: Settings, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "ws": "websockets-sansio",
        "ws_max_size": WS_PROTOCOL_LIMIT,
        # a peer that stopped answering (gone without a goodbye) is closed within twice this
        "ws_ping_interval": settings.ws_ping_s,
        "ws_ping_timeout": settings.ws_ping_s,
        # deflate roughly halves websocket throughput and doubles an idle socket's memory
        "ws_per_message_deflate": False,
        "proxy_headers": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
    }
    options.update(overrides)
    app = options.pop("app", None) or create_app(settings)
    return uvicorn.Config(app, **options)
