"""Agents teach the FAQ bot (POST /api/faq/learn) on SQLite and PostgreSQL: a handed-off question becomes a
phrasing of an entry or a new entry, the bot answers it at once, the ticket's history says so, and bad
input is refused with a 4xx and changes nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support import LiveServer

RESET = "Open Settings > Security and choose Reset password."
HOURS = "We are open 9am to 5pm Monday to Friday."
ADDRESS = "Go to Billing > Details and press Edit next to your address."
SHIPPING = "Yes: we ship to every EU and EEA country, Norway included, in 3 to 5 days."
TEST_BUDGET_S = 60


@pytest.fixture
async def learn_server(server: LiveServer) -> LiveServer:
    await server.add_agent("ana@example.com", "Ana")  # an agent, not an admin: agents answer the handoffs
    await server.add_agent("bo@example.com", "Bo", queues=["billing"])  # cannot see the general queue
    await server.import_faq()
    return server


async def _ask(api: httpx.AsyncClient, text: str) -> dict[str, Any]:
    r = await api.post("/api/bot/ask", json={"text": text})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _faq(api: httpx.AsyncClient) -> tuple[list[dict[str, Any]], str]:
    r = await api.get("/api/faq")
    assert r.status_code == 200, r.text
    return r.json()["items"], r.json()["revision"]


def _by_answer(items: list[dict[str, Any]], answer: str) -> dict[str, Any]:
    return next(e for e in items if e["answer"] == answer)


async def test_an_agent_adds_a_phrasing_and_the_bot_answers_it(learn_server: LiveServer) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, _ = await learn_server.token("ana@example.com")
        question = "My sign-in code never arrives"
        async with learn_server.client(token) as api:
            before = await _ask(api, question)
            items, revision = await _faq(api)
            reset = _by_answer(items, RESET)
            assert before["handoff"] and before["entry_id"] == reset["id"]  # a suggestion, not an answer

            r = await api.post("/api/faq/learn", json={"question": f"  {question} ", "entry_id": reset["id"]})
            assert r.status_code == 200, r.text
            assert (r.json()["created"], r.json()["added"]) == (False, True)
            assert r.json()["entry"]["id"] == reset["id"]
            assert r.json()["entry"]["phrasings"] == [*reset["phrasings"], question]
            items, after = await _faq(api)
            assert after != revision
            assert _by_answer(items, RESET)["phrasings"] == [*reset["phrasings"], question]

            answer = await _ask(api, question)
            assert (answer["entry_id"], answer["answer"], answer["handoff"]) == (reset["id"], RESET, False)

            # the same question again (any case) is no duplicate: nothing changes, not even the revision
            r = await api.post("/api/faq/learn", json={"question": question.upper(), "entry_id": reset["id"]})
            assert r.status_code == 200, r.text
            assert (r.json()["created"], r.json()["added"]) == (False, False)
            assert r.json()["entry"]["phrasings"] == [*reset["phrasings"], question]
            assert await _faq(api) == (items, after)


async def test_an_agent_creates_an_entry_and_the_bot_answers_it(learn_server: LiveServer) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, _ = await learn_server.token("ana@example.com")
        question = "Where do I change my billing address?"
        async with learn_server.client(token) as api:
            assert (await _ask(api, question))["handoff"]
            items, revision = await _faq(api)

            r = await api.post("/api/faq/learn", json={"question": question, "answer": f"{ADDRESS}\n"})
            assert r.status_code == 201, r.text
            entry = r.json()["entry"]
            assert (r.json()["created"], r.json()["added"]) == (True, True)
            assert (entry["answer"], entry["phrasings"]) == (ADDRESS, [question])
            after, new_revision = await _faq(api)
            assert [e["id"] for e in after] == [*(e["id"] for e in items), entry["id"]]
            assert new_revision != revision

            answer = await _ask(api, question)
            assert (answer["entry_id"], answer["answer"], answer["handoff"]) == (entry["id"], ADDRESS, False)

            # an answer the knowledge base has already: the question joins that entry (null ids are no ids)
            other = "How can I update the address on my invoices?"
            nulls = {"question": other, "answer": ADDRESS, "entry_id": None, "ticket_id": None}
            r = await api.post("/api/faq/learn", json=nulls)
            assert r.status_code == 200, r.text
            assert (r.json()["created"], r.json()["added"]) == (False, True)
            joined = r.json()["entry"]
            assert (joined["id"], joined["phrasings"]) == (entry["id"], [question, other])
            assert (await _ask(api, other))["answer"] == ADDRESS

            # a question another entry has already is refused: the two entries would compete for it
            hours = _by_answer(after, HOURS)
            for body in (
                {"question": "what are your OPENING hours?", "answer": "Always open."},
                {"question": "What are your opening hours?", "entry_id": entry["id"]},
            ):
                r = await api.post("/api/faq/learn", json=body)
                assert (r.status_code, r.json()["error"]["code"]) == (409, "phrasing_taken"), r.text
                assert f"entry {hours['id']}" in r.json()["error"]["message"]
            assert len((await _faq(api))[0]) == len(after)


async def _handed_off_ticket(server: LiveServer, token: str, *texts: str) -> dict[str, Any]:
    """A chat customer asks something the FAQ does not cover, put another way when the bot asks them to:
    the bot hands the ticket to the queue."""
    w, _ = await server.widget(name="Nora Lund")
    try:
        for n, text in enumerate(texts):
            mark = len(w.frames)
            await w.send({"type": "message", "text": text, "client_id": f"nora-{n}"})
            reply = await w.wait_for(
                lambda f: f.get("type") == "message" and f.get("from") in ("bot", "system"), start=mark
            )
            assert reply, w.frames
            if reply["from"] == "system":
                break
        else:
            raise AssertionError(f"the bot never handed off: {w.frames}")
    finally:
        await w.close()
    async with server.client(token) as api:
        deadline = time.monotonic() + 5
        while not (items := (await api.get("/api/tickets")).json()["items"]):
            assert time.monotonic() < deadline, "the handed-off ticket never showed"
            await asyncio.sleep(0.05)
    ticket: dict[str, Any] = items[0]
    return ticket


async def _history(api: httpx.AsyncClient, customer_id: int) -> list[dict[str, Any]]:
    r = await api.get(f"/api/customers/{customer_id}/history")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_learning_goes_on_the_tickets_history(learn_server: LiveServer) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, ana_id = await learn_server.token("ana@example.com")
        bo_token, _ = await learn_server.token("bo@example.com")
        question = "Can you send parcels to Norway?"
        ticket = await _handed_off_ticket(learn_server, token, "Do you ship to Norway?", question)
        async with learn_server.client(token) as api:
            assert "handoff" in [h["kind"] for h in await _history(api, ticket["customer_id"])]
            r = await api.post(f"/api/tickets/{ticket['id']}/messages", json={"body": SHIPPING})
            assert r.status_code in (201, 202), r.text

            # an agent who cannot see the ticket cannot write on its history: 404, and nothing is learned
            _, revision = await _faq(api)
            async with learn_server.client(bo_token) as bo:
                r = await bo.post(
                    "/api/faq/learn",
                    json={"question": question, "answer": SHIPPING, "ticket_id": ticket["id"]},
                )
                assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), r.text
            assert (await _faq(api))[1] == revision

            r = await api.post(
                "/api/faq/learn", json={"question": question, "answer": SHIPPING, "ticket_id": ticket["id"]}
            )
            assert r.status_code == 201, r.text
            entry_id = r.json()["entry"]["id"]
            learned = [h for h in await _history(api, ticket["customer_id"]) if h["kind"] == "faq.learned"]
            assert len(learned) == 1, learned
            line = learned[0]
            assert (line["ticket_id"], line["author"], line["agent_id"]) == (ticket["id"], "agent", ana_id)
            assert line["text"] == f"saved to the FAQ as new entry {entry_id}: “{question}”"
            assert line["data"] == {"entry_id": entry_id, "created": True, "question": question}
            assert (await _ask(api, question))["answer"] == SHIPPING

            # a second phrasing saved from the same ticket names the entry it joined
            r = await api.post(
                "/api/faq/learn",
                json={
                    "question": "Can you send parcels to Oslo?",
                    "entry_id": entry_id,
                    "ticket_id": ticket["id"],
                },
            )
            assert r.status_code == 200, r.text
            texts = [
                h["text"] for h in await _history(api, ticket["customer_id"]) if h["kind"] == "faq.learned"
            ]
            assert texts[-1] == f"saved to the FAQ to entry {entry_id}: “Can you send parcels to Oslo?”"


async def test_bad_input_is_refused_and_changes_nothing(learn_server: LiveServer) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, _ = await learn_server.token("ana@example.com")
        async with learn_server.client(token) as api:
            items, revision = await _faq(api)
            first = items[0]["id"]
            cases: list[tuple[dict[str, Any], int, str]] = [
                ({}, 400, "bad_question"),
                ({"question": "", "answer": "a"}, 400, "bad_question"),
                ({"question": "   ", "answer": "a"}, 400, "bad_question"),
                ({"question": 5, "answer": "a"}, 400, "bad_question"),
                ({"question": ["q"], "answer": "a"}, 400, "bad_question"),
                ({"question": "q" * 1001, "answer": "a"}, 400, "bad_question"),
                ({"question": "q"}, 400, "bad_answer"),
                ({"question": "q", "answer": " "}, 400, "bad_answer"),
                ({"question": "q", "answer": 3}, 400, "bad_answer"),
                ({"question": "q", "answer": "a" * 10_001}, 400, "bad_answer"),
                ({"question": "q", "entry_id": str(first)}, 400, "bad_entry_id"),
                ({"question": "q", "entry_id": True}, 400, "bad_entry_id"),
                ({"question": "q", "entry_id": 0}, 400, "bad_entry_id"),
                ({"question": "q", "entry_id": 1.5}, 400, "bad_entry_id"),
                ({"question": "q", "entry_id": first, "answer": "a"}, 400, "answer_with_entry"),
                ({"question": "q", "answer": "a", "ticket_id": -3}, 400, "bad_ticket_id"),
                ({"question": "q", "answer": "a", "ticket_id": "7"}, 400, "bad_ticket_id"),
                ({"question": "q", "answer": "a", "phrasings": ["q"]}, 400, "unknown_field"),
                ({"question": "q", "entry_id": 999_999}, 404, "not_found"),
                ({"question": "q", "entry_id": 2**40}, 404, "not_found"),
                ({"question": "q", "answer": "a", "ticket_id": 999_999}, 404, "not_found"),
                ({"question": "q", "answer": "a", "ticket_id": 2**63}, 404, "not_found"),
            ]
            for body, status, code in cases:
                r = await api.post("/api/faq/learn", json=body)
                assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
            raw = [
                (b"[]", "application/json", 400, "invalid_json"),
                (b"{", "application/json", 400, "invalid_json"),
                (b'{"question": "q", "answer": "a"}', "text/plain", 415, "unsupported_media_type"),
            ]
            for content, ctype, status, code in raw:
                r = await api.post("/api/faq/learn", content=content, headers={"Content-Type": ctype})
                assert (r.status_code, r.json()["error"]["code"]) == (status, code), (content, r.text)
            assert await _faq(api) == (items, revision)


async def test_learning_needs_a_signed_in_agent(learn_server: LiveServer) -> None:
    async with asyncio.timeout(TEST_BUDGET_S):
        token, _ = await learn_server.token("ana@example.com")
        async with learn_server.client(token) as api:
            before = await _faq(api)
        body = {"question": "Do you ship to Norway?", "answer": SHIPPING}
        for client in (learn_server.client(), learn_server.client("not-a-token")):
            async with client as anonymous:
                r = await anonymous.post("/api/faq/learn", json=body)
                assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized"), r.text
                assert r.headers["www-authenticate"] == "Bearer"
        async with learn_server.client(token) as api:
            assert await _faq(api) == before
