"""Two tickets of one customer merged into one thread; a message about something else split off into a
ticket of its own. Agents see both live; replies to merged mail still find the thread."""

from __future__ import annotations

from email.message import EmailMessage

import httpx

from tests.support import LiveServer


def mail(sender: str, subject: str, text: str, n: int, replying_to: int | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<merge-{n}@example.org>"
    if replying_to is not None:
        msg["In-Reply-To"] = msg["References"] = f"<merge-{replying_to}@example.org>"
    msg.set_content(text)
    return msg.as_bytes()


async def send(api: httpx.AsyncClient, raw: bytes) -> int:
    r = await api.post("/api/email/inbound", content=raw, headers={"Content-Type": "message/rfc822"})
    assert r.status_code == 201, r.text
    return int(r.json()["ticket_id"])


async def test_merge_two_tickets_of_one_customer(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana", queues=["general"])
    await server.add_agent("ben@example.com", "Ben", queues=["tech"])
    ana, _ = await server.token("ana@example.com")
    ben, _ = await server.token("ben@example.com")
    socket = await server.agent_socket(ana)
    async with server.client(ana) as api:
        first = await send(api, mail("greta@lind.example", "parcel late", "where is my parcel?", 1))
        second = await send(api, mail("greta@lind.example", "parcel again", "still no parcel", 2))
        stranger = await send(api, mail("bo@else.example", "hi", "hello", 3))
        assert len({first, second, stranger}) == 3
        for bad, code in (
            ({"other_id": first}, 400),
            ({"other_id": stranger}, 400),
            ({"other_id": "2"}, 400),
        ):
            r = await api.post(f"/api/tickets/{first}/merge", json=bad)
            assert r.status_code == code, (bad, r.text)
        async with server.client(ben) as other_queue:  # tickets Ben may not see are not there for him
            assert (
                await other_queue.post(f"/api/tickets/{first}/merge", json={"other_id": second})
            ).status_code == 404
        r = await api.post(f"/api/tickets/{first}/merge", json={"other_id": second})
        assert r.status_code == 200, r.text
        merged = (await api.get(f"/api/tickets/{first}")).json()
        customer = [m["body"].strip() for m in merged["messages"] if m["author"] == "customer"]
        assert customer == ["where is my parcel?", "still no parcel"]
        seqs = [m["seq"] for m in merged["messages"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        gone = (await api.get(f"/api/tickets/{second}")).json()
        assert gone["status"] == "closed" and "merged" in gone["tags"] and gone["merged_into"] == first
        assert gone["messages"] == []
        assert await socket.wait_for(
            lambda f: (
                f.get("type") == "ticket.updated"
                and f["data"].get("reason") == "merged"
                and f["data"]["ticket_id"] == second
            )
        )
        assert (await api.post(f"/api/tickets/{first}/merge", json={"other_id": second})).status_code == 400
        # the customer answers the mail of the merged ticket: it lands in the thread it joined
        assert (
            await send(api, mail("greta@lind.example", "Re: parcel again", "any news?", 4, replying_to=2))
            == first
        )
        history = (await api.get(f"/api/customers/{merged['customer_id']}/history")).json()["items"]
        texts = [h["text"] for h in history if h["kind"] == "ticket.merged"]
        assert (
            any(t.startswith(f"ticket #{second} merged into this one (") for t in texts)
            and f"merged into ticket #{first}" in texts
        )
    await socket.close()


async def test_split_a_message_into_a_ticket_of_its_own(server: LiveServer) -> None:
    await server.add_agent("ana@example.com", "Ana", queues=["general"])
    ana, _ = await server.token("ana@example.com")
    async with server.client(ana) as api:
        first = await send(api, mail("greta@lind.example", "parcel late", "where is my parcel?", 1))
        assert (
            await send(api, mail("greta@lind.example", "Re: parcel late", "also: my invoice is wrong", 2, 1))
            == first
        )
        ticket = (await api.get(f"/api/tickets/{first}")).json()
        invoice = next(m for m in ticket["messages"] if "invoice" in m["body"])
        parcel = next(m for m in ticket["messages"] if "parcel" in m["body"])
        bot = [m for m in ticket["messages"] if m["author"] != "customer"]
        for bad, code in (
            ({"message_id": "x"}, 400),
            ({"message_id": 999999}, 404),
            *([({"message_id": bot[0]["id"]}, 400)] if bot else []),
        ):
            r = await api.post(f"/api/tickets/{first}/split", json=bad)
            assert r.status_code == code, (bad, r.text)
        r = await api.post(f"/api/tickets/{first}/split", json={"message_id": invoice["id"]})
        assert r.status_code == 201, r.text
        new = r.json()
        assert (
            new["id"] != first and new["customer_id"] == ticket["customer_id"] and new["channel"] == "email"
        )
        assert new["waiting"] is True and new["subject"].startswith("also: my invoice is wrong")
        moved = (await api.get(f"/api/tickets/{new['id']}")).json()["messages"]
        assert [(m["seq"], m["id"]) for m in moved] == [(1, invoice["id"])]
        left = (await api.get(f"/api/tickets/{first}")).json()["messages"]
        assert invoice["id"] not in {m["id"] for m in left} and parcel["id"] in {m["id"] for m in left}
        # a reply to the split-off mail finds its new ticket
        assert (
            await send(api, mail("greta@lind.example", "Re: invoice", "any news?", 3, replying_to=2))
            == new["id"]
        )
