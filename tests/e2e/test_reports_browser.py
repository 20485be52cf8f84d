"""The supervisor board's reports in a real browser (headless Chromium, Playwright) against a live server:
a supervisor picks a report, a range and a grouping, sees the chart and the numbers for seeded tickets,
and downloads the CSV (fetched with the token, saved from a blob), all under the page's strict CSP; the
satisfaction panel (last 30 days) and a queue card's "SLA missed" count, which moves when the sweep marks a
target missed."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from app.actions import sla
from app.domain.models import CsatSurvey, Customer, Queue, Ticket
from app.domain.types import utcnow
from tests.integration.test_reports import seed
from tests.support import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

UI_TIMEOUT_MS = 10_000


async def test_reports_chart_table_and_csv(server: LiveServer, browser: Browser, tmp_path: Path) -> None:
    async with asyncio.timeout(90):
        await seed(server)
        await server.add_agent("sue@example.com", "Sue", role="supervisor")
        context = await browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        context.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            await page.goto(server.base + "/console/supervisor")
            await page.locator("input[type=email]").fill("sue@example.com")
            await page.locator("input[type=password]").fill("pw-secret-123")
            await page.locator("input[type=password]").press("Enter")
            reports = page.get_by_role("region", name="Reports")
            await expect(reports).to_be_visible()
            # the default: the last 30 days by day, drawn at once
            await expect(page.locator("#report-table tbody tr")).to_have_count(30)

            await page.locator("#report-kind").select_option("first_response")
            await page.locator("#report-from").fill("2025-03-03")
            await page.locator("#report-to").fill("2025-03-10")
            await page.locator("#report-group").select_option("day")
            await page.get_by_role("button", name="Show").click()
            monday = page.locator('#report-table tr[data-key="2025-03-03"]')
            await expect(monday.locator('[data-col="count"]')).to_have_text("3")
            await expect(monday.locator('[data-col="median_s"]')).to_have_text("2m 0s")
            await expect(monday.locator('[data-col="p90_s"]')).to_have_text("4m 24s")
            await expect(page.locator("#report-table tbody tr")).to_have_count(8)
            await expect(page.locator("#report-chart-title")).to_have_text(
                "First response time by day, 2025-03-03 to 2025-03-10"
            )
            await expect(page.locator("#report-summary")).to_contain_text("5 tickets")
            # the chart drew the figures it was given
            chart: Any = await page.evaluate(
                "() => { const c = Chart.getChart('report-chart');"
                " return {labels: c.data.labels, sets: c.data.datasets.map((d) => [d.label, d.data])}; }"
            )
            assert chart["labels"][0] == "2025-03-03" and len(chart["labels"]) == 8
            assert chart["sets"][0] == ["Median (min)", [2, 0.5, None, None, None, None, None, 1.5]]

            await page.locator("#report-kind").select_option("volume")
            await page.locator("#report-group").select_option("channel")
            await page.get_by_role("button", name="Show").click()
            chat = page.locator('#report-table tr[data-key="chat"]')
            await expect(chat.locator('[data-col="created"]')).to_have_text("5")
            await expect(chat.locator('[data-col="resolved"]')).to_have_text("2")

            async with page.expect_download() as info:
                await page.get_by_role("button", name="Download CSV").click()
            download = await info.value
            assert download.suggested_filename == "volume-by-channel-2025-03-03-to-2025-03-10.csv"
            path = tmp_path / "volume.csv"
            await download.save_as(path)
            rows = list(csv.reader(io.StringIO(path.read_text())))
            assert rows == [
                ["channel", "created", "resolved"],
                ["chat", "5", "2"],
                ["email", "3", "2"],
                ["sms", "2", "0"],
                ["voice", "1", "0"],
            ]

            # a bad range is said, not drawn
            await page.locator("#report-from").fill("2024-01-01")
            await page.get_by_role("button", name="Show").click()
            await expect(page.locator("#report-error")).to_contain_text("366 days")
            assert errors == [], errors
        finally:
            await context.close()


async def seed_recent(server: LiveServer) -> int:
    """Surveys of the last days (Ana 5, 4; Bob 2, 5; nobody's 3; one unanswered; one from 40 days ago) and
    an open ticket of "general" whose first response was due an hour ago: the id of that ticket."""
    ana = await server.add_agent("ana@example.com", "Ana")
    bob = await server.add_agent("bob@example.com", "Bob")
    now = utcnow()
    async with server.ctx.db.write() as s:
        general = (
            await s.execute(select(Queue).where(Queue.name == "general"))
        ).scalar_one_or_none() or Queue(name="general")
        billing = Queue(name="billing")
        customer = Customer(name="Carla")
        s.add_all([general, billing, customer])
        await s.flush()
        surveys = [
            (general, "chat", ana, 5, 2),
            (general, "email", ana, 4, 3),
            (billing, "email", bob, 2, 4),
            (billing, "sms", bob, 5, 5),
            (general, "chat", None, 3, 6),
            (general, "chat", ana, None, 7),
            (general, "chat", bob, 1, 40 * 24),
        ]
        for i, (queue, channel, agent, score, hours_ago) in enumerate(surveys):
            t = Ticket(
                customer_id=customer.id, queue_id=queue.id, channel=channel, tags=[], status="resolved"
            )
            s.add(t)
            await s.flush()
            s.add(
                CsatSurvey(
                    token_hash=f"{i:064d}",
                    ticket_id=t.id,
                    customer_id=customer.id,
                    agent_id=agent,
                    queue_id=queue.id,
                    channel=channel,
                    sent_at=now - timedelta(hours=hours_ago + 1),
                    score=score,
                    answered_at=None if score is None else now - timedelta(hours=hours_ago),
                )
            )
        late = Ticket(
            customer_id=customer.id,
            queue_id=general.id,
            channel="email",
            tags=[],
            status="open",
            created_at=now - timedelta(hours=2),
            first_response_due_at=now - timedelta(hours=1),
        )
        s.add(late)
        await s.flush()
        return late.id


async def test_satisfaction_panel_and_sla_missed(server: LiveServer, browser: Browser) -> None:
    async with asyncio.timeout(90):
        await seed_recent(server)
        await server.add_agent("sue@example.com", "Sue", role="supervisor")
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        try:
            await page.goto(server.base + "/console/supervisor")
            await page.locator("input[type=email]").fill("sue@example.com")
            await page.locator("input[type=password]").fill("pw-secret-123")
            await page.locator("input[type=password]").press("Enter")
            panel = page.get_by_role("region", name="Satisfaction (last 30 days)")
            await expect(panel).to_be_visible()
            # 5 answered of 6 sent in 30 days: 5, 4, 2, 5, 3
            await expect(panel.locator('[data-kpi="csat-average"]')).to_contain_text("3.80")
            await expect(panel.locator('[data-kpi="csat-average"]')).to_contain_text("from 5 answers")
            await expect(panel.locator('[data-kpi="csat-satisfied"]')).to_contain_text("60.0%")
            await expect(panel.locator('[data-kpi="csat-rate"]')).to_contain_text("83.3%")
            await expect(panel.locator('[data-kpi="csat-rate"]')).to_contain_text("5 answered of 6 sent")

            def cells(table: str, attr: str, value: str) -> list[Any]:
                row = panel.locator(f'#{table} tr[{attr}="{value}"]')
                return [row.locator(f'[data-col="{c}"]') for c in ("answered", "average", "satisfied_pct")]

            for cell, text in zip(
                cells("csat-queues", "data-queue", "general"), ("3", "4.00", "66.7%"), strict=True
            ):
                await expect(cell).to_have_text(text)
            for cell, text in zip(
                cells("csat-queues", "data-queue", "billing"), ("2", "3.50", "50.0%"), strict=True
            ):
                await expect(cell).to_have_text(text)
            agents = panel.locator("#csat-agents tbody tr")
            await expect(agents).to_have_count(2)  # the answer of nobody's ticket is in no agent's row
            await expect(agents.nth(0).locator("th")).to_have_text("Ana")
            await expect(agents.nth(0).locator('[data-col="average"]')).to_have_text("4.50")
            await expect(agents.nth(0).locator('[data-col="satisfied_pct"]')).to_have_text("100.0%")
            await expect(agents.nth(1).locator("th")).to_have_text("Bob")
            await expect(agents.nth(1).locator('[data-col="answered"]')).to_have_text("2")

            # the sweep marks the overdue first response: the card's "SLA missed" moves, with no reload
            await sla.sweep(server.ctx)
            missed = page.locator('li.queue[data-queue="general"] [data-field="sla-breached"]')
            await expect(missed).to_have_text("1")
            await expect(missed).to_have_class("breached")
            await expect(
                page.locator('li.queue[data-queue="billing"] [data-field="sla-breached"]')
            ).to_have_text("0")

            # the reports: satisfaction by agent, and SLA attainment (which has no "by agent")
            await expect(page.locator("#report-table tbody tr")).to_have_count(30)
            await page.locator("#report-kind").select_option("csat")
            await page.locator("#report-group").select_option("agent")
            await page.get_by_role("button", name="Show").click()
            ana = page.locator('#report-table tr[data-key="Ana"]')
            await expect(ana.locator('[data-col="answered"]')).to_have_text("2")
            await expect(ana.locator('[data-col="average"]')).to_have_text("4.50")
            await expect(ana.locator('[data-col="satisfied_pct"]')).to_have_text("100.0%")
            await expect(
                page.locator('#report-table tr[data-key="(no agent)"] [data-col="answered"]')
            ).to_have_text("1")
            await expect(page.locator("#report-summary")).to_contain_text(
                "5 answered surveys, 60.0% satisfied"
            )
            await page.locator("#report-kind").select_option("sla")
            await expect(page.locator("#report-group")).to_have_value("day")
            await expect(page.locator('#report-group option[value="agent"]')).to_be_disabled()
            await page.locator("#report-group").select_option("queue")
            await page.get_by_role("button", name="Show").click()
            general = page.locator('#report-table tr[data-key="general"]')
            await expect(general.locator('[data-col="first_response_targets"]')).to_have_text("1")
            await expect(general.locator('[data-col="first_response_breached"]')).to_have_text("1")
            await expect(general.locator('[data-col="first_response_attainment_pct"]')).to_have_text("0.0%")
            await expect(general.locator('[data-col="resolution_attainment_pct"]')).to_have_text(
                "\u2013"
            )  # a dash: nothing to measure
            assert errors == [], errors
        finally:
            await context.close()
