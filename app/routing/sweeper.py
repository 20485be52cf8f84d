"""The periodic sweep every process runs: presence heartbeats with expiry, and the router re-run.

Presence lives in the database, so it must survive a process that dies with agents connected: every
`presence_heartbeat_s` each process stamps the agents whose sockets it holds (one UPDATE), and any process
that finds an agent still "available" but unstamped for `presence_expiry_s` marks them away and sends
their unanswered tickets back to the queue. A socket that closes normally goes through the shorter grace
period instead (app/http/ws_agent.py). The sweep also wakes the router for every queue, so a ticket whose
event was lost (a bus outage, a process killed between commit and publish) is still assigned, and reloads
the supervisor board's figures (app/domain/board.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from app.actions import agents, tickets
from app.actions.context import Context
from app.background import BackgroundTask
from app.domain.board import Board
from app.routing.router import Router

log = logging.getLogger(__name__)


class Sweeper(BackgroundTask):
    name = "sweeper"

    def __init__(
        self, ctx: Context, router: Router, online: Callable[[], Collection[int]], board: Board | None = None
    ) -> None:
        """`online`: the agents with a socket open in this process (the hub knows); `board`: the read model
        of the supervisor board, reloaded every sweep (repairs a lost event, starts a new day)."""
        self.ctx, self.router, self.online, self.board = ctx, router, online, board

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.presence_heartbeat_s)
            try:
                await self.sweep()
            except Exception:  # the database may be down for a moment: try again next round
                log.warning("presence sweep failed", exc_info=True)

    async def sweep(self) -> None:
        settings = self.ctx.settings
        await agents.heartbeat(self.ctx, sorted(self.online()))
        expiry = max(settings.presence_expiry_s, 2 * settings.presence_heartbeat_s)
        for agent_id in await agents.stale_agents(self.ctx, expiry):
            if agent_id in self.online():
                continue  # connected here after the heartbeat above
            if await agents.set_presence(self.ctx, agent_id, "away"):
                log.info("agent %s expired: no process refreshed their presence for %.0f s", agent_id, expiry)
                await tickets.requeue_unanswered(self.ctx, agent_id)
        await self.router.wake_all()
        if self.board is not None:
            async with self.ctx.db.read() as s:
                await self.board.reload(s)
