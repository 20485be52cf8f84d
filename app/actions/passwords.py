"""Changing who may act as an agent: a new password (the agent's own, or set by an admin) and an agent
switched off or on. Each voids every token issued before (the agent's token epoch moves on) and closes the
sockets opened with them, on every process; an agent who changes their own password gets a new token."""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.agents import MIN_PASSWORD, REVOKED, _hasher, issue_token, set_presence
from app.actions.common import lock_agent
from app.actions.context import Context
from app.actions.errors import Forbidden, Invalid, NotFound
from app.actions.tickets import requeue_unanswered
from app.actions.token_cache import TOKEN_TOPIC
from app.bus import Event
from app.domain.models import Agent, AuthToken
from app.domain.types import utcnow

MAX_PASSWORD = 1024


def _check_new(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", "weak_password")


async def change_password(ctx: Context, agent_id: int, current: str, new: str) -> str:
    """The agent's own change, with their current password; returns a new token (all others are void)."""
    _check_new(new)
    async with ctx.db.read() as s:
        agent = await s.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise NotFound(f"agent {agent_id} not found")
    try:
        _hasher.verify(agent.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise Forbidden("the current password is wrong", "wrong_password") from None
    async with ctx.db.write() as s:
        agent = await lock_agent(s, agent_id)
        agent.password_hash = _hasher.hash(new)
        event = await _void_tokens(s, agent)
        token = issue_token(ctx, s, agent)
    await _revoked(ctx, event)
    return token


async def set_password(ctx: Context, agent_id: int, new: str) -> Agent:
    """An admin sets an agent's password (a reset): the agent's tokens are void, sockets close."""
    _check_new(new)
    async with ctx.db.write() as s:
        agent = await lock_agent(s, agent_id)
        agent.password_hash = _hasher.hash(new)
        event = await _void_tokens(s, agent)
    await _revoked(ctx, event)
    return agent


async def set_active(ctx: Context, agent_id: int, active: bool) -> Agent:
    """Switch an agent off (no login, tokens void, sockets closed, away, unanswered tickets back to their
    queue) or on again."""
    async with ctx.db.write() as s:
        agent = await lock_agent(s, agent_id)
        agent.active = active
        event = None if active else await _void_tokens(s, agent)
    if not active:
        await _revoked(ctx, event)
        await set_presence(ctx, agent_id, "away")
        await requeue_unanswered(ctx, agent_id)
    return agent


async def agent_id_by_email(ctx: Context, email: str) -> int:
    async with ctx.db.read() as s:
        found = (await s.execute(select(Agent.id).where(Agent.email == email.strip().lower()))).scalar()
    if found is None:
        raise NotFound(f"no agent with email {email}")
    return found


async def _void_tokens(s: AsyncSession, agent: Agent) -> Event:
    """Move the agent's token epoch on (every token issued before is void); the event that closes the
    sockets opened with them, to publish after commit."""
    live = await s.execute(
        select(AuthToken.token_hash).where(
            AuthToken.agent_id == agent.id,
            AuthToken.epoch == agent.token_epoch,
            AuthToken.revoked.is_(False),
            AuthToken.expires_at > utcnow(),
        )
    )
    agent.token_epoch += 1
    topics = tuple(f"{TOKEN_TOPIC}{digest}" for digest in live.scalars())
    return Event(REVOKED, 0, {"agent_id": agent.id}, topics)


async def _revoked(ctx: Context, event: Event | None) -> None:
    if event is None:
        return
    assert isinstance(event.data["agent_id"], int)
    ctx.tokens.drop_agent(event.data["agent_id"])
    if event.topics:
        await ctx.publish([event])
