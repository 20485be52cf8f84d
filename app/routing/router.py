"""The router: offers waiting tickets to available agents.

A subscriber, woken by events: a ticket starts waiting (handoff, requeue, transfer), an agent becomes
available, an agent's ticket is resolved or taken away. For each woken queue it assigns, one ticket per
transaction, the oldest highest-priority waiting ticket to the available agent of that queue with spare
capacity and the fewest open tickets (ties: longest idle).

An assignment is atomic: on SQLite the process's single writer serialises it; on PostgreSQL the queue row
is locked (one dispatcher per queue at a time across processes), the ticket is taken with SKIP LOCKED, and
the chosen agent's row is locked and their load recounted before the assignment, so two processes never
give one agent more than their capacity nor one ticket two agents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.common import history, queue_name, ticket_event, touch
from app.actions.context import Context
from app.bus import Event
from app.domain.models import ACTIVE_STATUSES, Agent, AgentQueue, Queue, Ticket
from app.domain.types import utcnow

log = logging.getLogger(__name__)
PRIORITY_RANK = case({"urgent": 3, "high": 2, "normal": 1, "low": 0}, value=Ticket.priority, else_=1)


class Router:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._running: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        # queues whose last dispatch had a waiting ticket and no agent to give it to: another waiting ticket
        # (or a customer's next message on one) changes nothing there until an agent frees up, becomes
        # available or changes queues; the sweeper's periodic wake_all dispatches them regardless
        self._no_agent: set[int] = set()

    def on_event(self, event: Event) -> Awaitable[None] | None:
        """Wake the queues this event may let move; a task only when an agent's queues must be read."""
        data = event.data
        ticket = data.get("ticket") or {}
        queues: set[int] = set()
        if ticket.get("waiting") and int(ticket["queue_id"]) not in self._no_agent:
            queues.add(int(ticket["queue_id"]))
        freed = [data.get("freed_agent_id")]
        if event.type == "ticket.updated" and ticket.get("status") not in ACTIVE_STATUSES:
            freed.append(ticket.get("assignee_id"))
        if event.type in ("agent.presence", "agent.updated") and data.get("presence") == "available":
            queues.update(int(q) for q in data.get("queue_ids", []))
        agent_ids = {int(a) for a in freed if a is not None}
        if agent_ids:
            return self._freed(agent_ids, queues)
        self._wake_queues(queues, agent_side=event.type in ("agent.presence", "agent.updated"))
        return None

    async def _freed(self, agent_ids: set[int], queues: set[int]) -> None:
        """Agents with room again: their queues too."""
        async with self.ctx.db.read() as s:
            rows = await s.execute(select(AgentQueue.queue_id).where(AgentQueue.agent_id.in_(agent_ids)))
            queues.update(rows.scalars())
        self._wake_queues(queues, agent_side=True)

    def _wake_queues(self, queues: set[int], agent_side: bool) -> None:
        if agent_side:
            self._no_agent -= queues  # an agent's side changed: these queues may be served again
        for queue_id in queues:
            self.wake(queue_id)

    def wake(self, queue_id: int) -> None:
        """Dispatch this queue now, or once more after the dispatch under way."""
        if queue_id in self._running:
            self._again.add(queue_id)
            return
        self._running[queue_id] = self.ctx.spawn(self._dispatch_loop(queue_id))

    async def _dispatch_loop(self, queue_id: int) -> None:
        try:
            while True:
                self._again.discard(queue_id)
                while await self.assign_one(queue_id):
                    pass
                if queue_id not in self._again:
                    return
        except Exception:
            log.exception("dispatching queue %s failed", queue_id)
        finally:
            self._running.pop(queue_id, None)

    async def assign_one(self, queue_id: int) -> bool:
        """Assign one waiting ticket of the queue; False when nothing (more) can be assigned."""
        async with self.ctx.db.write() as s:
            if not self.ctx.db.is_sqlite:
                await s.execute(_QUEUE_MUTEX.where(Queue.id == queue_id))
            ticket = (
                await s.execute(
                    select(Ticket)
                    .where(
                        Ticket.queue_id == queue_id,
                        Ticket.status.in_(ACTIVE_STATUSES),
                        Ticket.assignee_id.is_(None),
                        Ticket.queued_at.is_not(None),
                    )
                    .order_by(PRIORITY_RANK.desc(), Ticket.queued_at, Ticket.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if ticket is None:
                return False
            agent = await self._pick_agent(s, queue_id)
            if agent is None:
                self._no_agent.add(queue_id)
                return False
            event = await _give(s, ticket, agent)
        self._no_agent.discard(queue_id)
        await self.ctx.publish([event])
        return True

    async def assign_now(self, ticket_id: int, *, needs_phone: bool = False) -> Agent | None:
        """Give this ticket (waiting in its queue) to an available agent at once, as a call needs; None
        when nobody can take it now (it then waits, or the caller goes to voicemail)."""
        async with self.ctx.db.write() as s:
            ticket = (
                await s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
            ).scalar_one_or_none()
            if ticket is None or ticket.assignee_id is not None:
                return None
            if not self.ctx.db.is_sqlite:
                await s.execute(_QUEUE_MUTEX.where(Queue.id == ticket.queue_id))
            agent = await self._pick_agent(s, ticket.queue_id, needs_phone=needs_phone)
            if agent is None:
                return None
            event = await _give(s, ticket, agent)
        await self.ctx.publish([event])
        return agent

    async def _pick_agent(self, s: AsyncSession, queue_id: int, needs_phone: bool = False) -> Agent | None:
        load = (
            select(Ticket.assignee_id.label("agent_id"), func.count().label("n"))
            .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(ACTIVE_STATUSES))
            .group_by(Ticket.assignee_id)
            .subquery()
        )
        n = func.coalesce(load.c.n, 0)
        candidates = (
            (
                await s.execute(
                    select(Agent.id)
                    .join(AgentQueue, (AgentQueue.agent_id == Agent.id) & (AgentQueue.queue_id == queue_id))
                    .outerjoin(load, load.c.agent_id == Agent.id)
                    .where(
                        Agent.presence == "available",
                        Agent.active.is_(True),
                        n < Agent.capacity,
                        *([Agent.phone.is_not(None)] if needs_phone else []),
                    )
                    .order_by(n, Agent.idle_since, Agent.id)
                )
            )
            .scalars()
            .all()
        )
        for agent_id in candidates:
            agent = await s.get(Agent, agent_id, with_for_update=True, populate_existing=True)
            if agent is None or agent.presence != "available":
                continue
            if not self.ctx.db.is_sqlite:
                # recount under the agent's lock: another process may have just given them a ticket
                current = (
                    await s.execute(
                        select(func.count()).where(
                            Ticket.assignee_id == agent_id, Ticket.status.in_(ACTIVE_STATUSES)
                        )
                    )
                ).scalar_one()
                if current >= agent.capacity:
                    continue
            return agent
        return None

    async def wake_all(self) -> None:
        self._no_agent.clear()
        async with self.ctx.db.read() as s:
            for queue_id in (await s.execute(select(Queue.id))).scalars():
                self.wake(queue_id)


# One router at a time per queue (PostgreSQL). FOR NO KEY UPDATE, not FOR UPDATE: a transaction that
# updates a ticket row it already changed checks the ticket's foreign key to its queue (FOR KEY SHARE on the
# queue row); FOR UPDATE blocked that check, and an agent's reply (holding the ticket, and KEY SHARE on the
# agent through its message) deadlocked with a router holding the queue and waiting for that agent's row.
_QUEUE_MUTEX = select(Queue.id).with_for_update(key_share=True)


async def _give(s: AsyncSession, ticket: Ticket, agent: Agent) -> Event:
    """Assign inside the caller's transaction (ticket and agent locked); the event to publish after it."""
    now = utcnow()
    ticket.assignee_id = agent.id
    ticket.assigned_at = now
    ticket.queued_at = ticket.queued_at or now
    touch(ticket)
    agent.idle_since = now
    history(
        s,
        ticket,
        "assignment",
        text=f"assigned to {agent.name}",
        agent_id=agent.id,
        data={"agent_id": agent.id, "by": "router"},
    )
    return ticket_event("ticket.assigned", ticket, await queue_name(s, ticket.queue_id))
