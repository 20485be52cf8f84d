"""The application: everything is built in the lifespan from one Settings, nothing global."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute

from app.actions import agents, kv
from app.actions.chat_writer import ChatWriter
from app.actions.context import Context
from app.actions.csat import CsatAsker
from app.actions.duplicates import DuplicateWatch
from app.actions.email import ingest_raw
from app.actions.errors import ActionError
from app.actions.inbound import InboundWriter
from app.actions.reminders import ReminderWatch
from app.actions.rules import RuleRunner
from app.actions.search_index import SearchIndexer
from app.actions.sla import SlaClock, SlaWatch
from app.bus import Event, make_bus
from app.db.engine import Database
from app.delivery import Deliverer
from app.domain.board import Board
from app.http import (
    api_agents,
    api_attributes,
    api_csat,
    api_customers,
    api_duplicates,
    api_email,
    api_faq,
    api_reminders,
    api_reports,
    api_rules,
    api_search,
    api_system,
    api_tickets,
    api_webhooks,
    pages,
    twilio_sms,
    twilio_voice,
)
from app.http.audit import AuditTrail
from app.http.drop import ExposeDrop
from app.http.errors import (
    ApiError,
    on_action_error,
    on_api_error,
    on_database_error,
    on_http_exception,
    on_unexpected,
)
from app.http.hub import Hub
from app.http.metrics import Metrics
from app.http.ratelimit import Window
from app.http.ws_agent import agent_socket, schedule_grace, supervisor_socket
from app.http.ws_chat import chat_socket
from app.routing.router import Router
from app.routing.sweeper import Sweeper
from app.webhook_sender import WebhookSender
from bots.faq.responder import FaqBot
from channels.email import listener
from channels.email.imap import ImapPoller, ImapSource
from channels.registry import adapters
from config.settings import Settings, SettingsError

log = logging.getLogger(__name__)


async def _store_mail(ctx: Context, raw: bytes) -> str:
    result = await ingest_raw(ctx, raw)
    if result.quarantine_id is not None:
        return f"kept for review (quarantine {result.quarantine_id})"
    return f"ticket {result.ticket_id}" + (" (already had it)" if result.duplicate else "")


def take_lead(settings: Settings) -> IO[bytes] | None:
    """With `--workers`, one worker at a time runs the SMTP listener and the IMAP poller: the one holding an
    exclusive lock on a file named by the port. The lock goes with its process, so the worker uvicorn starts
    in place of a dead one can take it. Returns the open lock file (keep it), or None: another leads."""
    path = Path(tempfile.gettempdir()) / f"switchboard-{settings.host}-{settings.port}.lead"
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _start_imap(ctx: Context, settings: Settings) -> asyncio.Task[None] | None:
    """Poll the IMAP mailbox, if one is configured (run it in one process only: another would fetch the
    same mail again, stored once all the same). The cursor is kept in the database, one per mailbox."""
    if not settings.imap_url:
        return None
    source = ImapSource.parse(settings.imap_url)
    key = f"imap_cursor:{source}"

    async def load() -> str | None:
        return await kv.get(ctx, key)

    async def save(cursor: str) -> None:
        await kv.put(ctx, key, cursor)

    poller = ImapPoller(
        source,
        lambda raw: ingest_raw(ctx, raw),
        load,
        save,
        settings.imap_interval_s,
        max_bytes=settings.smtp_max_bytes,
    )
    log.info("polling %s every %ss", source, settings.imap_interval_s)
    return asyncio.create_task(poller.run(), name="imap")


def create_app(settings: Settings) -> Starlette:
    if settings.twilio_account_sid and not settings.twilio_auth_token:
        raise SettingsError(
            "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not: webhooks could not be verified"
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.database_url, serving=True)
        db.start()
        bus = make_bus(settings.bus_url)
        ctx = Context(settings, db, bus)
        metrics = Metrics()
        hub = Hub(metrics)
        bot = FaqBot(ctx)
        router = Router(ctx)
        ctx.subscribe(bot.on_event)
        ctx.subscribe(router.on_event)
        board = Board()
        ctx.observers.append(board.apply)

        def deliver(event: Event) -> None:  # events of every process, this one's included
            board.apply(event)
            ctx.tokens.observe(event)
            hub.deliver(event)

        await bus.start(deliver)
        app.state.ctx, app.state.hub, app.state.metrics, app.state.bot, app.state.router = (
            ctx,
            hub,
            metrics,
            bot,
            router,
        )
        async with db.read() as s:
            await board.reload(s)
        app.state.board = board
        await bot.matcher()  # build the FAQ index before the first question
        if settings.bus_url.startswith("memory://"):
            # a single process: an agent marked available by a previous run has no socket here; give them
            # the grace period to reconnect, as if their socket had just dropped
            for agent_id in await agents.agents_present(ctx):
                schedule_grace(ctx, hub, agent_id, hub.agent_disconnected(agent_id))
        await router.wake_all()
        sweeper = Sweeper(ctx, router, hub.online_agents, board)
        sweeper.start()
        chat_writer = ChatWriter(ctx)
        app.state.chat_writer = chat_writer
        chat_writer.start()
        inbound_writer = ctx.inbound_writer = InboundWriter(ctx)
        inbound_writer.start()
        deliverer = Deliverer(ctx, adapters(settings))
        app.state.deliverer = deliverer
        ctx.subscribe(deliverer.on_event)
        deliverer.start()
        webhook_sender = WebhookSender(ctx)
        app.state.webhook_sender = webhook_sender
        ctx.subscribe(webhook_sender.on_event)
        webhook_sender.start()
        rule_runner = app.state.rule_runner = RuleRunner(ctx)
        ctx.subscribe(rule_runner.on_event)
        ctx.subscribe(SlaClock(ctx).on_event)
        ctx.subscribe(CsatAsker(ctx).on_event)
        smtp = None
        lead = take_lead(settings) if settings.workers > 1 else None
        leader = settings.workers <= 1 or lead is not None
        if settings.smtp_port and leader:
            smtp = await listener.start(
                settings.host,
                settings.smtp_port,
                settings.accepted_addresses,
                lambda raw: _store_mail(ctx, raw),
                settings.smtp_max_bytes,
            )
            log.info(
                "SMTP listener on %s:%s for %s",
                settings.host,
                settings.smtp_port,
                ", ".join(sorted(settings.accepted_addresses)),
            )
        imap = _start_imap(ctx, settings) if leader else None
        watch = DuplicateWatch(ctx, settings.duplicate_check_s) if leader else None
        sla_watch = SlaWatch(ctx, settings.sla_check_s) if leader else None
        reminder_watch = ReminderWatch(ctx, settings.reminder_check_s) if leader else None
        indexer = SearchIndexer(ctx) if db.is_sqlite else None
        for task in (watch, sla_watch, reminder_watch, indexer):
            if task is not None:
                task.start()
        # What start-up built (the model's tokenizer, SQLAlchemy's metadata, the FAQ index...) lives as long
        # as the app: out of the cyclic collector's sight, so that a full collection under load scans only
        # what the traffic made (at 1,000 chat messages a second, full collections of the whole heap took
        # 60-145 ms: most of the chat path's p99)
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # collectable again once the app is gone (tests start many apps in one process)
            if imap is not None:
                imap.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await imap
            if smtp is not None:
                smtp.close()
            if lead is not None:
                lead.close()
            bot.close()
            for task in (watch, sla_watch, reminder_watch, indexer):
                if task is not None:
                    await task.stop()
            await sweeper.stop()
            await deliverer.stop()
            await webhook_sender.stop()
            await chat_writer.stop()
            await inbound_writer.stop()
            await ctx.close()
            await bus.close()
            await db.close()

    routes = [
        *api_system.routes,
        *api_tickets.routes,
        *api_customers.routes,
        *api_attributes.routes,
        *api_duplicates.routes,
        *api_agents.routes,
        *api_email.routes,
        *api_faq.routes,
        *api_reports.routes,
        *api_search.routes,
        *twilio_sms.routes,
        *twilio_voice.routes,
        *api_webhooks.routes,
        *api_rules.routes,
        *api_csat.routes,
        *api_reminders.routes,
        *pages.routes,
        WebSocketRoute("/ws/chat", chat_socket),
        WebSocketRoute("/ws/agent", agent_socket),
        WebSocketRoute("/ws/supervisor", supervisor_socket),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(ExposeDrop), Middleware(AuditTrail)],
        exception_handlers={
            ApiError: on_api_error,
            ActionError: on_action_error,
            DBAPIError: on_database_error,
            OSError: on_database_error,
            SATimeoutError: on_database_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
    )
    app.state.settings = settings
    # failed logins from one client address, whichever accounts it tries (app.actions.login_throttle counts
    # per account); per process. Behind a proxy every client has the proxy's address: a generous limit.
    app.state.login_failures = Window(limit=30, period_s=600)
    # new widget visitors per client address (app.http.ws_chat)
    app.state.new_visitors = Window(limit=settings.widget_new_visitors, period_s=600)
    return app
