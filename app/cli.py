"""The `switchboard` command: serve, agents (add, password, deactivate, activate), faq import. Every command
first migrates the database."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import sys

from app.actions.errors import ActionError
from app.db.migrate import upgrade
from config.settings import Settings, SettingsError, add_flags, add_serve_flags, load

log = logging.getLogger("switchboard")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchboard", description="Switchboard omnichannel contact center")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run HTTP, websockets, SMTP and background work in one process")
    add_flags(serve)
    add_serve_flags(serve)

    agents = sub.add_parser("agents", help="manage agents")
    asub = agents.add_subparsers(dest="agents_command", required=True)
    add = asub.add_parser("add", help="create an agent, supervisor or admin")
    add_flags(add)
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", default="agent", choices=["agent", "supervisor", "admin"])
    add.add_argument("--queues", default="", help="comma-separated queue names (default: general)")
    add.add_argument("--capacity", type=int, default=3, help="tickets at once (default 3)")
    add.add_argument("--phone", help="E.164 number calls are put through to, e.g. +14155550123")

    pw = asub.add_parser("password", help="set an agent's password (their tokens are void, sockets close)")
    add_flags(pw)
    pw.add_argument("--email", required=True)
    pw.add_argument("--password", required=True)
    for verb, what in (
        ("deactivate", "switch an agent off: no login, tokens void"),
        ("activate", "switch back on"),
    ):
        switch = asub.add_parser(verb, help=what)
        add_flags(switch)
        switch.add_argument("--email", required=True)

    faq = sub.add_parser("faq", help="the FAQ knowledge base")
    fsub = faq.add_subparsers(dest="faq_command", required=True)
    imp = fsub.add_parser("import", help="import a CSV with columns question,answer")
    add_flags(imp)
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true", help="replace the whole knowledge base")
    return p


def read_faq_csv(path: str) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [c.strip().lower() for c in reader.fieldnames or []]
        if "question" not in fields or "answer" not in fields:
            raise ActionError(f"{path}: the header must name the columns question,answer")
        reader.fieldnames = fields
        return [(row.get("question") or "", row.get("answer") or "") for row in reader]


async def _agents_add(settings: Settings, args: argparse.Namespace) -> str:
    from app.actions.agents import create_agent

    ctx = _context(settings)
    try:
        queues = [q for q in args.queues.split(",") if q.strip()] or None
        agent = await create_agent(
            ctx,
            email=args.email,
            name=args.name,
            password=args.password,
            role=args.role,
            queues=queues,
            capacity=args.capacity,
            phone=args.phone,
        )
        return f"agent {agent.id} {agent.email} ({agent.role}) created"
    finally:
        await ctx.db.close()


async def _agents_change(settings: Settings, args: argparse.Namespace) -> str:
    from app.actions import audit, passwords

    ctx = _context(settings)
    try:
        agent_id = await passwords.agent_id_by_email(ctx, args.email)
        if args.agents_command == "password":
            await passwords.set_password(ctx, agent_id, args.password)
            done = f"agent {agent_id} has a new password; their earlier tokens are void"
        else:
            await passwords.set_active(ctx, agent_id, args.agents_command == "activate")
            done = f"agent {agent_id} {args.agents_command}d"
        detail = {"agent_id": agent_id, "email": args.email.strip().lower(), "by": "command line"}
        await audit.record(ctx, f"cli.agents.{args.agents_command}", detail=detail)
        return done
    finally:
        await ctx.db.close()


async def _faq_import(settings: Settings, args: argparse.Namespace) -> str:
    from app.actions.faq import import_rows

    rows = read_faq_csv(args.file)
    ctx = _context(settings)
    try:
        entries, phrasings = await import_rows(ctx, rows, replace=args.replace)
        return f"imported {entries} entries ({phrasings} new phrasings) from {args.file}"
    finally:
        await ctx.db.close()


def _context(settings: Settings):  # type: ignore[no-untyped-def]
    from app.actions.context import Context
    from app.bus.memory import MemoryBus
    from app.db.engine import Database

    return Context(settings, Database(settings.database_url), MemoryBus())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a migration is news only when it fails
    try:
        settings = load(args=args)
        asyncio.run(upgrade(settings.database_url))
        if args.command == "serve":
            from app.serve import serve

            return serve(settings)
        if args.command == "agents":
            run = _agents_add if args.agents_command == "add" else _agents_change
            print(asyncio.run(run(settings, args)))
        elif args.command == "faq":
            print(asyncio.run(_faq_import(settings, args)))
    except (SettingsError, ActionError, OSError) as e:
        print(f"switchboard: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
