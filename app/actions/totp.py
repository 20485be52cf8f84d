"""Two-step sign-in for agents: a time-based one-time code (TOTP, RFC 6238, pyotp) from an authenticator
app, asked at login after the password. An agent turns it on by scanning the secret (`begin`) and typing
one code (`confirm`), and off with a current code (`disable`); an admin can turn it off for an agent who
lost their device. A code is accepted once, within one 30-second step either side of now."""

from __future__ import annotations

import time

import pyotp

from app.actions.common import lock_agent
from app.actions.context import Context
from app.actions.errors import ActionError, Forbidden, Invalid
from app.domain.models import Agent

ISSUER = "Switchboard"
WINDOW = 1  # steps either side of now


class CodeRequired(ActionError):
    status = 401
    code = "totp_required"

    def __init__(self) -> None:
        super().__init__("enter the 6-digit code from your authenticator app (two-step sign-in is on)")


def matching_step(secret: str, code: str, after: int | None, now: float | None = None) -> int | None:
    """The time step whose code this is, if it is one of now's (± WINDOW) and newer than `after`."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if (after is None or step > after) and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


async def begin(ctx: Context, agent_id: int) -> dict[str, str]:
    """A new secret to scan; two-step sign-in is on only once a code from it is confirmed."""
    secret = pyotp.random_base32()
    async with ctx.db.write() as s:
        agent = await lock_agent(s, agent_id)
        if agent.totp_secret:
            raise Invalid("two-step sign-in is on already: turn it off first", "totp_on")
        agent.totp_pending = secret
        uri = pyotp.TOTP(secret).provisioning_uri(name=agent.email, issuer_name=ISSUER)
    return {"secret": secret, "uri": uri}


async def confirm(ctx: Context, agent_id: int, code: str) -> None:
    async with ctx.db.write() as s:
        agent = await s.get(Agent, agent_id, with_for_update=True)
        if agent is None or not agent.totp_pending:
            raise Invalid("start setting up two-step sign-in first (POST /api/me/totp)", "totp_not_started")
        step = matching_step(agent.totp_pending, code, None)
        if step is None:
            raise Forbidden("that code does not match: check the time on your device", "wrong_code")
        agent.totp_secret, agent.totp_pending, agent.totp_step = agent.totp_pending, None, step


async def disable(ctx: Context, agent_id: int, code: str | None) -> None:
    """Off, with a current code (the agent), or without one (`code` None: an admin)."""
    async with ctx.db.write() as s:
        agent = await lock_agent(s, agent_id)
        if code is not None:
            if not agent.totp_secret:
                raise Invalid("two-step sign-in is not on", "totp_off")
            if matching_step(agent.totp_secret, code, agent.totp_step) is None:
                raise Forbidden("that code does not match", "wrong_code")
        agent.totp_secret = agent.totp_pending = None
        agent.totp_step = None
