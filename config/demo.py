"""`serve --demo`: demo queues, agents and FAQ entries, so a newcomer sees a working contact center."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.actions.agents import create_agent
from app.actions.context import Context
from app.actions.errors import Conflict
from app.actions.faq import import_rows
from app.bus.memory import MemoryBus
from app.db.engine import Database
from app.domain.models import FaqEntry
from config.settings import Settings

SAMPLE_FAQ = Path(__file__).with_name("sample_faq.csv")
PASSWORD = "switchboard-demo"
AGENTS = [
    ("admin@example.com", "Ada Admin", "admin", ["general", "billing", "tech"]),
    ("super@example.com", "Sam Supervisor", "supervisor", ["general", "billing", "tech"]),
    ("ana@example.com", "Ana Agent", "agent", ["general", "billing"]),
    ("ben@example.com", "Ben Agent", "agent", ["general", "tech"]),
]


async def seed(settings: Settings) -> list[str]:
    from app.cli import read_faq_csv

    ctx = Context(settings, Database(settings.database_url), MemoryBus())
    lines = []
    try:
        for email, name, role, queues in AGENTS:
            try:
                await create_agent(ctx, email=email, name=name, password=PASSWORD, role=role, queues=queues)
                lines.append(f"log in as {email} / {PASSWORD} ({role})")
            except Conflict:
                lines.append(f"{email} exists already; its password is unchanged")
        async with ctx.db.read() as s:
            empty = (await s.execute(select(func.count()).select_from(FaqEntry))).scalar_one() == 0
        if empty:
            entries, _ = await import_rows(ctx, read_faq_csv(str(SAMPLE_FAQ)))
            lines.append(f"{entries} FAQ entries imported from {SAMPLE_FAQ.name}")
    finally:
        await ctx.db.close()
    return lines
