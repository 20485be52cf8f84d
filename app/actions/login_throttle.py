"""Failed logins: after a few in a row for one email address, further tries are refused for a while that
doubles with each failure (30 s, 1 min, 2 min... 15 min at most), whatever the password. Counted per
address, whether or not an agent has it, so a lockout tells nothing about which addresses exist; a login
that succeeds clears the count, and a count untouched for an hour starts again.

Kept in the database, so every process of a cluster counts the same failures; one failure in a hundred
also deletes the rows of addresses nobody tried for a day, so made-up addresses do not pile up. Failures
per client address are limited in each process too (app.main: `login_failures`)."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.context import Context
from app.actions.errors import ActionError
from app.domain.models import LoginThrottle
from app.domain.types import utcnow

FREE_FAILURES = 4  # failures in a row before the first lockout
FIRST_LOCK_S = 30
MAX_LOCK_S = 15 * 60
FORGET_AFTER = timedelta(hours=1)
CLEANUP_CHANCE = 0.01  # of a failure's transaction also deleting the rows of addresses long untried


class Throttled(ActionError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.headers = {"Retry-After": str(self.retry_after_s)}
        super().__init__(f"too many failed logins; try again in {self.retry_after_s} s")


def lock_s(failures: int) -> float:
    """How long tries are refused after this many failures in a row."""
    if failures <= FREE_FAILURES:
        return 0.0
    return float(min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (failures - FREE_FAILURES - 1)))


def normalise(email: str) -> str:
    return email.strip().lower()[:320]


async def check(ctx: Context, email: str) -> None:
    """Raise Throttled while the address is locked."""
    async with ctx.db.read() as s:
        until = (
            await s.execute(select(LoginThrottle.locked_until).where(LoginThrottle.email == normalise(email)))
        ).scalar_one_or_none()
    if until is not None:
        left = (until - utcnow()).total_seconds()
        if left > 0:
            raise Throttled(left)


async def failed(ctx: Context, email: str) -> float:
    """Count a failure; returns how long the address is now locked (0: not locked)."""
    now = utcnow()
    dialect = sqlite if ctx.db.is_sqlite else postgresql
    stale = LoginThrottle.updated_at < now - FORGET_AFTER
    upsert = dialect.insert(LoginThrottle).values(email=normalise(email), failures=1, updated_at=now)
    upsert = upsert.on_conflict_do_update(
        index_elements=[LoginThrottle.email],
        set_={"failures": case((stale, 1), else_=LoginThrottle.failures + 1), "updated_at": now},
    ).returning(LoginThrottle.failures)
    async with ctx.db.write() as s:
        if random.random() < CLEANUP_CHANCE:  # addresses nobody tried for a day: their rows go
            await s.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - timedelta(days=1)))
        failures = (await s.execute(upsert)).scalar_one()
        wait = lock_s(failures)
        if wait:
            await s.execute(
                update(LoginThrottle)
                .where(LoginThrottle.email == normalise(email))
                .values(locked_until=now + timedelta(seconds=wait))
            )
    return wait


async def forget(s: AsyncSession, email: str) -> None:
    """A login succeeded: the count starts again (in the caller's transaction)."""
    await s.execute(delete(LoginThrottle).where(LoginThrottle.email == normalise(email)))
