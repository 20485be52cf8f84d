"""`switchboard serve`: uvicorn running the app, with the demo data seeded first when asked."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn

from app.main import create_app
from config.settings import Settings

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
    uvicorn.Server(uvicorn_config(settings)).run()
    return 0


def uvicorn_config(settings: Settings, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "ws": "websockets-sansio",
        "ws_max_size": WS_PROTOCOL_LIMIT,
        # deflate roughly halves websocket throughput and doubles an idle socket's memory
        "ws_per_message_deflate": False,
        "proxy_headers": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
    }
    options.update(overrides)
    return uvicorn.Config(create_app(settings), **options)
