"""Agents: creating them, logging in (argon2 passwords, bearer tokens stored as sha256), presence."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import login_throttle, totp
from app.actions.common import SUPERVISORS, lock_agent
from app.actions.context import Context
from app.actions.errors import Conflict, Invalid
from app.actions.token_cache import TOKEN_TOPIC
from app.bus import Event
from app.domain.models import ROLES, Agent, AgentQueue, AuthToken, Queue
from app.domain.types import utcnow
from channels.phone import to_e164

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """What a sign-in with an unknown email is verified against, so that it is as slow as one with a known
    email; made on first use, not at import (every command-line call and process start paid for it)."""
    return _hasher.hash("switchboard-dummy-password")


MIN_PASSWORD = 8


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def create_agent(
    ctx: Context,
    *,
    email: str,
    name: str,
    password: str,
    role: str = "agent",
    queues: list[str] | None = None,
    capacity: int = 3,
    phone: str | None = None,
) -> Agent:
    email = email.strip().lower()
    number = to_e164(phone) if phone else None
    if phone and number is None:
        raise Invalid(f"not a phone number with its country code: {phone!r}")
    if "@" not in email or len(email) > 320:
        raise Invalid(f"not an email address: {email!r}")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password must be at least {MIN_PASSWORD} characters")
    if not 0 <= capacity <= 1000:
        raise Invalid("capacity must be between 0 and 1000")
    names = [q.strip() for q in (queues or ["general"]) if q.strip()]
    async with ctx.db.write() as s:
        if (await s.execute(select(Agent.id).where(Agent.email == email))).first() is not None:
            raise Conflict(f"an agent with email {email} exists already")
        agent = Agent(
            email=email,
            name=name.strip() or email,
            password_hash=_hasher.hash(password),
            role=role,
            capacity=capacity,
            presence="away",
            phone=number,
        )
        s.add(agent)
        await s.flush()
        for qname in names:
            queue = (await s.execute(select(Queue).where(Queue.name == qname))).scalar_one_or_none()
            if queue is None:
                queue = Queue(name=qname)
                s.add(queue)
                await s.flush()
            s.add(AgentQueue(agent_id=agent.id, queue_id=queue.id))
    return agent


@dataclass(frozen=True)
class Principal:
    """The agent behind a request or a socket."""

    id: int
    name: str
    email: str
    role: str
    queue_ids: frozenset[int]

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("supervisor", "admin")


async def login(ctx: Context, email: str, password: str, code: str | None = None) -> tuple[str, Agent] | None:
    """A new token, or None for a wrong email, password or one-time code; raises Throttled (before looking
    at the password) while the address is locked after failures in a row (app.actions.login_throttle),
    and CodeRequired when the password is right but two-step sign-in wants a code (app.actions.totp)."""
    await login_throttle.check(ctx, email)
    async with ctx.db.read() as s:
        agent = (
            await s.execute(select(Agent).where(Agent.email == email.strip().lower(), Agent.active.is_(True)))
        ).scalar_one_or_none()
    try:
        _hasher.verify(agent.password_hash if agent else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        agent = None
    if agent is not None and agent.totp_secret and not code:
        raise totp.CodeRequired()
    token = None
    if agent is not None:
        async with ctx.db.write() as s:
            if agent.totp_secret:
                fresh = await lock_agent(s, agent.id)
                assert code is not None
                step = totp.matching_step(fresh.totp_secret or "", code, fresh.totp_step)
                if step is not None:
                    fresh.totp_step = step  # good once
                    token = issue_token(ctx, s, fresh)
            else:
                token = issue_token(ctx, s, agent)
            if token is not None:
                await login_throttle.forget(s, email)
    if agent is None or token is None:
        await login_throttle.failed(ctx, email)
        return None
    return token, agent


def issue_token(ctx: Context, s: AsyncSession, agent: Agent) -> str:
    """A new bearer token of the agent's current epoch, added to the caller's transaction."""
    token = secrets.token_urlsafe(32)
    s.add(
        AuthToken(
            token_hash=_token_hash(token),
            agent_id=agent.id,
            epoch=agent.token_epoch,
            expires_at=utcnow() + timedelta(seconds=ctx.settings.token_ttl_s),
        )
    )
    return token


async def authenticate(ctx: Context, token: str) -> Principal | None:
    if not token or len(token) > 200:
        return None
    digest = _token_hash(token)
    known = ctx.tokens.get(digest)
    if known is not None:
        return known
    generation = ctx.tokens.generation
    # columns rather than ORM objects (the agent's queue relationship would cost a third query)
    async with ctx.db.read() as s:
        row = (
            await s.execute(
                select(
                    AuthToken.revoked,
                    AuthToken.epoch,
                    AuthToken.expires_at,
                    Agent.token_epoch,
                    Agent.active,
                    Agent.id,
                    Agent.name,
                    Agent.email,
                    Agent.role,
                )
                .join(Agent, Agent.id == AuthToken.agent_id)
                .where(AuthToken.token_hash == digest)
            )
        ).first()
        if row is None:
            return None
        if row.revoked or row.epoch != row.token_epoch or row.expires_at <= utcnow() or not row.active:
            return None
        queues = await s.execute(select(AgentQueue.queue_id).where(AgentQueue.agent_id == row.id))
        who = Principal(row.id, row.name, row.email, row.role, frozenset(queues.scalars()))
    ctx.tokens.put(digest, who.id, row.expires_at, who, generation)
    return who


async def logout(ctx: Context, token: str) -> None:
    """Revoke the token; the sockets opened with it, on every process, close (4401)."""
    digest = _token_hash(token)
    async with ctx.db.write() as s:
        await s.execute(update(AuthToken).where(AuthToken.token_hash == digest).values(revoked=True))
    ctx.tokens.drop_token(digest)
    await ctx.publish([Event(REVOKED, 0, {}, (token_topic(token),))])


REVOKED = "auth.revoked"


def token_topic(token: str) -> str:
    """The topic of the sockets opened with this token (named by the token's hash, never the token)."""
    return f"{TOKEN_TOPIC}{_token_hash(token)}"


async def set_presence(ctx: Context, agent_id: int, presence: str) -> bool:
    """available or away; publishes agent.presence when it changed."""
    if presence not in ("available", "away"):
        raise Invalid("status must be available or away", "bad_status")
    async with ctx.db.write() as s:
        agent = await s.get(Agent, agent_id, with_for_update=True)
        if agent is None or agent.presence == presence:
            return False
        now = utcnow()
        agent.presence = presence
        agent.presence_at = now
        if presence == "available":
            agent.idle_since = now
        queue_ids = sorted(q.id for q in agent.queues)
    event = Event(
        "agent.presence",
        0,
        {"agent_id": agent_id, "presence": presence, "queue_ids": queue_ids},
        (SUPERVISORS, f"agent:{agent_id}"),
    )
    await ctx.publish([event])
    return True


async def heartbeat(ctx: Context, agent_ids: list[int]) -> None:
    """This process still holds sockets of these agents: their presence is fresh (one statement)."""
    if not agent_ids:
        return
    async with ctx.db.write() as s:
        await s.execute(
            update(Agent)
            .where(Agent.id.in_(agent_ids), Agent.presence == "available")
            .values(presence_at=utcnow())
        )


async def stale_agents(ctx: Context, older_than_s: float) -> list[int]:
    """Agents still marked available whose presence no process has refreshed for `older_than_s`: the process
    that held their socket died (a clean disconnect goes through the grace period instead)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    async with ctx.db.read() as s:
        return list(
            (
                await s.execute(
                    select(Agent.id).where(Agent.presence == "available", Agent.presence_at < cutoff)
                )
            ).scalars()
        )


async def agents_present(ctx: Context, presence: str = "available") -> list[int]:
    async with ctx.db.read() as s:
        return list((await s.execute(select(Agent.id).where(Agent.presence == presence))).scalars())


async def update_agent(
    ctx: Context, agent_id: int, *, queues: list[str] | None = None, capacity: int | None = None
) -> Agent:
    """A supervisor changes an agent's queues (skills) or capacity; publishes agent.updated."""
    if capacity is not None and not 0 <= capacity <= 1000:
        raise Invalid("capacity must be between 0 and 1000", "bad_capacity")
    async with ctx.db.write() as s:
        agent = await lock_agent(s, agent_id)
        if queues is not None:
            wanted = sorted({q.strip() for q in queues if q.strip()})
            found = list((await s.execute(select(Queue).where(Queue.name.in_(wanted)))).scalars())
            missing = set(wanted) - {q.name for q in found}
            if missing:
                raise Invalid(f"no queue named {', '.join(sorted(missing))}", "unknown_queue")
            await s.execute(delete(AgentQueue).where(AgentQueue.agent_id == agent_id))
            for queue in found:
                s.add(AgentQueue(agent_id=agent_id, queue_id=queue.id))
        if capacity is not None:
            agent.capacity = capacity
        await s.flush()
        s.expire(agent, ["queues"])
        await s.refresh(agent, ["queues"])
        queue_ids = sorted(q.id for q in agent.queues)
    ctx.tokens.drop_agent(agent_id)
    event = Event(
        "agent.updated",
        0,
        {
            "agent_id": agent_id,
            "presence": agent.presence,
            "queue_ids": queue_ids,
            "capacity": agent.capacity,
        },
        (SUPERVISORS, f"agent:{agent_id}"),
    )
    await ctx.publish([event])
    return agent
