"""The application: everything is built in the lifespan from one Settings, nothing global."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import WebSocketRoute

from app.actions import agents
from app.actions.context import Context
from app.actions.errors import ActionError
from app.bus import make_bus
from app.db.engine import Database
from app.http import api_agents, api_customers, api_system, api_tickets, pages
from app.http.errors import ApiError, on_action_error, on_api_error, on_http_exception, on_unexpected
from app.http.hub import Hub
from app.http.metrics import Metrics
from app.http.ws_agent import agent_socket, schedule_grace, supervisor_socket
from app.http.ws_chat import chat_socket
from app.routing.router import Router
from bots.faq.responder import FaqBot
from config.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        bus = make_bus(settings.bus_url)
        ctx = Context(settings, db, bus)
        metrics = Metrics()
        hub = Hub(metrics)
        bot = FaqBot(ctx)
        router = Router(ctx)
        ctx.subscribe(bot.on_event)
        ctx.subscribe(router.on_event)
        await bus.start(hub.deliver)
        app.state.ctx, app.state.hub, app.state.metrics, app.state.bot, app.state.router = (
            ctx,
            hub,
            metrics,
            bot,
            router,
        )
        await bot.matcher()  # build the FAQ index before the first question
        if settings.bus_url.startswith("memory://"):
            # a single process: an agent marked available by a previous run has no socket here; give them
            # the grace period to reconnect, as if their socket had just dropped
            for agent_id in await agents.agents_present(ctx):
                schedule_grace(ctx, hub, agent_id, hub.agent_disconnected(agent_id))
        await router.wake_all()
        try:
            yield
        finally:
            await ctx.close()
            await bus.close()
            await db.close()

    routes = [
        *api_system.routes,
        *api_tickets.routes,
        *api_customers.routes,
        *api_agents.routes,
        *pages.routes,
        WebSocketRoute("/ws/chat", chat_socket),
        WebSocketRoute("/ws/agent", agent_socket),
        WebSocketRoute("/ws/supervisor", supervisor_socket),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: on_api_error,
            ActionError: on_action_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
    )
    app.state.settings = settings
    return app
