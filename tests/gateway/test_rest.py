"""REST over a real uvicorn gateway, SQLite, and Redis: history, search, stats, addresses."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from telesniff.contract import Entry
from telesniff.db.driver import Database
from telesniff.db.store import upsert
from telesniff.gateway.routes.detections import encode_page_cursor

from .harness import GatewayFactory, RunningGateway
from .kit import EVM_A, SOL_A, SOL_B, SOL_C, entry, next_message, stored

NOW = time.time()


def corpus() -> list[Entry]:
    return [
        entry(message_id=1, group="alpha", chat_id=1, sender_id=11, sender="alice",
              text="New gem PUMP soon", matches=[("solana", SOL_A)], date=NOW - 60),
        entry(message_id=2, group="alpha", chat_id=2, chat="Alpha Two", sender_id=12,
              sender="bob", text="evm play", matches=[("evm", EVM_A)], date=NOW - 50),
        entry(message_id=3, group="beta", chat_id=3, chat="Beta", sender_id=11, sender="alice",
              text="both chains", matches=[("solana", SOL_B), ("evm", EVM_A)], date=NOW - 40),
        entry(message_id=4, group="beta", chat_id=3, chat="Beta", sender_id=None, sender=None,
              text="just a link", matches=[("url", "https://pump.fun/coin/x")], date=NOW - 30),
        entry(message_id=5, group="alpha", chat_id=1, sender_id=13, sender="Carol",
              text="to the moon", matches=[("keyword", "moon")], date=NOW - 7200),
        entry(message_id=6, group="alpha", chat_id=1, sender_id=11, sender="alice",
              text="pumpkin 100%_off", matches=[("keyword", "pumpkin")], date=NOW - 10),
    ]  # fmt: skip


def database_of(gw: RunningGateway) -> Database:
    return Database.from_url(gw.settings.database_url_or_default())


async def seed(gw: RunningGateway, entries: list[Entry]) -> list[str]:
    ids = [f"{1_700_000_000_000 + index}-0" for index in range(len(entries))]
    await upsert(database_of(gw), stored(ids, entries))
    return ids


async def get(gw: RunningGateway, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gw.base_url) as client:
        return await client.get(path, params=params)


def message_ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["message_id"] for item in response.json()["items"]]


async def test_detection_filters(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        await seed(gw, corpus())
        assert message_ids(await get(gw, "/api/detections")) == [6, 5, 4, 3, 2, 1]
        assert message_ids(await get(gw, "/api/detections", group="beta")) == [4, 3]
        assert message_ids(await get(gw, "/api/detections", group="beta,alpha")) == [
            6, 5, 4, 3, 2, 1,
        ]  # fmt: skip
        assert message_ids(await get(gw, "/api/detections", chat="1")) == [6, 5, 1]
        assert message_ids(await get(gw, "/api/detections", sender="11")) == [6, 3, 1]
        assert message_ids(await get(gw, "/api/detections", sender="@CAROL")) == [5]
        assert message_ids(await get(gw, "/api/detections", kind="evm")) == [3, 2]
        assert message_ids(await get(gw, "/api/detections", kind="url,keyword")) == [6, 5, 4]
        assert message_ids(await get(gw, "/api/detections", q="pump")) == [6, 1]
        # LIKE wildcards in the search text are literal.
        assert message_ids(await get(gw, "/api/detections", q="100%_o")) == [6]
        assert message_ids(await get(gw, "/api/detections", q="%")) == [6]
        assert message_ids(await get(gw, "/api/detections", since=NOW - 45)) == [6, 4, 3]
        assert message_ids(await get(gw, "/api/detections", since=NOW - 100, until=NOW - 40)) == [
            2,
            1,
        ]
        assert message_ids(
            await get(gw, "/api/detections", group="alpha", kind="solana", sender="alice")
        ) == [1]

        page = (await get(gw, "/api/detections", kind="solana", limit=1)).json()
        item = page["items"][0]
        assert item["cursor"] == "1700000000002-0"
        assert item["matches"] == [
            {"kind": "solana", "value": SOL_B},
            {"kind": "evm", "value": EVM_A},
        ]
        assert item["group"] == "beta"
        assert item["chat"] == "Beta"
        assert item["edited"] is False
        assert isinstance(item["id"], int)
        assert set(item) == {
            "cursor", "group", "chat_id", "chat", "message_id", "sender_id", "sender", "date",
            "text", "matches", "edit", "received_at", "id", "edited",
        }  # fmt: skip


async def test_text_search_folds_case_as_the_database_does(start_gateway: GatewayFactory) -> None:
    """ASCII letters match in any case on both databases; other letters differ.

    The search text is lowercased in Python (Unicode-aware); the stored text is folded
    by the database, as SQLAlchemy's ``ilike`` rendered it before: SQLite's ``lower()``
    folds ASCII only, PostgreSQL's ``ILIKE`` folds by the database's locale (C.UTF-8
    here and in most deployments, which folds Ö to ö).
    """
    async with start_gateway() as gw:
        await seed(gw, [
            entry(message_id=1, text="Ölpreis steigt"),
            entry(message_id=2, text="ölpreis fällt"),
            entry(message_id=3, text="GM Frens"),
        ])  # fmt: skip
        assert message_ids(await get(gw, "/api/detections", q="gm FR")) == [3]
        assert message_ids(await get(gw, "/api/detections", q="FÄLLT")) == [2]
        umlaut = message_ids(await get(gw, "/api/detections", q="ÖLPREIS"))
        if gw.database.dialect == "sqlite":
            assert umlaut == [2]  # the stored "Ö" is not folded
        else:
            assert umlaut == [2, 1]


async def test_a_database_error_is_a_503(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        connection = await gw.database.connect()
        try:  # a table gone (SQLite only: the PostgreSQL database is shared)
            await connection.execute("DROP TABLE mentions")
            await connection.commit()
        finally:
            await connection.close()
        response = await get(gw, "/api/addresses/hot")
        assert response.status_code == 503
        assert response.json() == {"detail": "database unavailable"}
        assert (await get(gw, "/api/detections")).status_code == 200
        assert (await get(gw, "/readyz")).json()["checks"]["database"] == "ok"


async def test_pagination_walks_every_row_once(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        await seed(gw, [entry(message_id=n, text=f"m{n}") for n in range(1, 12)])
        seen: list[int] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 4}
            if cursor:
                params["cursor"] = cursor
            body = (await get(gw, "/api/detections", **params)).json()
            seen += [item["message_id"] for item in body["items"]]
            row_ids = [item["id"] for item in body["items"]]
            assert row_ids == sorted(row_ids, reverse=True)
            pages += 1
            cursor = body["next"]
            if cursor is None:
                break
        assert seen == list(range(11, 0, -1))
        assert pages == 3
        # Filters and a cursor combine.
        first = (await get(gw, "/api/detections", limit=2, q="m1")).json()
        assert [i["message_id"] for i in first["items"]] == [11, 10]
        rest = (await get(gw, "/api/detections", limit=2, q="m1", cursor=first["next"])).json()
        assert [i["message_id"] for i in rest["items"]] == [1]
        assert rest["next"] is None


async def test_edits_replace_the_row(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        original = entry(message_id=77, text="first", matches=[("solana", SOL_A)])
        await seed(gw, [original])
        edited = entry(message_id=77, text="edited", matches=[("solana", SOL_B)], edit=True)
        await upsert(database_of(gw), stored(["1700000000009-0"], [edited]))
        items = (await get(gw, "/api/detections")).json()["items"]
        assert len(items) == 1
        assert items[0]["text"] == "edited"
        assert items[0]["edited"] is True
        assert items[0]["edit"] is True
        assert (await get(gw, f"/api/addresses/{SOL_A}")).status_code == 404


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"limit": 0}, 422, "limit"),
        ({"limit": 501}, 422, "limit"),
        ({"kind": "bitcoin"}, 422, "kind: unknown bitcoin"),
        ({"chat": "abc"}, 422, "chat: expected an integer"),
        ({"since": "yesterday"}, 422, "since"),
        ({"since": 10, "until": 5}, 422, "until"),
        ({"cursor": "not-a-cursor"}, 400, "cursor"),
        ({"sender": "@"}, 422, "sender"),
        # Ids are 64-bit in the database: wider ones are the request's fault, not a 5xx.
        ({"chat": str(2**63)}, 422, "chat: out of range"),
        ({"sender": str(-(2**63) - 1)}, 422, "sender: out of range"),
        ({"cursor": encode_page_cursor(2**64)}, 400, "cursor"),
    ],
)
async def test_bad_parameters_say_why(
    start_gateway: GatewayFactory, params: dict[str, Any], status: int, needle: str
) -> None:
    async with start_gateway() as gw:
        response = await get(gw, "/api/detections", **params)
        assert response.status_code == status
        assert needle in response.json()["detail"]


async def test_stats(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        await seed(gw, corpus())
        stream, group = gw.settings.stream, gw.settings.consumer_group
        for n in range(5):
            await gw.redis.xadd(stream, {b"e": b"{}", b"n": str(n).encode()})
        await gw.redis.xgroup_create(stream, group, id="0")
        await gw.redis.xreadgroup(group, "c1", {stream: ">"}, count=2)  # 2 pending, lag 3

        async with connect(gw.ws_url()) as ws:
            assert (await next_message(ws))["type"] == "hello"
            body = (await get(gw, "/api/stats")).json()

        detections = body["detections"]
        assert detections["total"] == 6
        assert detections["last_hour"] == 5
        assert detections["by_group"] == {"alpha": 4, "beta": 2}
        assert detections["by_kind"] == {"solana": 2, "evm": 2, "url": 1, "keyword": 2}
        assert body["stream"]["name"] == stream
        assert body["stream"]["length"] == 5
        consumer_group = body["stream"]["consumer_group"]
        assert consumer_group["name"] == group
        assert consumer_group["pending"] == 2
        assert consumer_group["lag"] == 3
        assert consumer_group["consumers"] == 1
        assert body["websocket"]["clients"] == 1
        assert body["websocket"]["dropped_total"] == 0


async def test_stats_without_stream(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        body = (await get(gw, "/api/stats")).json()
        assert body["detections"]["total"] == 0
        assert body["stream"] == {
            "name": gw.settings.stream,
            "length": 0,
            "consumer_group": None,
        }


async def test_hot_ranks_spread_over_volume(start_gateway: GatewayFactory) -> None:
    now = time.time()
    entries = [
        # SOL_A: 3 mentions in 3 chats by 2 senders.
        entry(chat_id=1, sender_id=1, matches=[("solana", SOL_A)], date=now - 300),
        entry(chat_id=2, sender_id=2, matches=[("solana", SOL_A)], date=now - 200),
        entry(chat_id=3, sender_id=2, matches=[("solana", SOL_A)], date=now - 100),
        # SOL_B: 5 mentions in 1 chat; first mentioned a day ago (outside the window).
        entry(chat_id=9, sender_id=3, matches=[("solana", SOL_B)], date=now - 86400),
        *[entry(chat_id=9, sender_id=3, matches=[("solana", SOL_B)], date=now - 50 + n)
          for n in range(5)],
        # EVM_A: 2 mentions in 2 chats.
        entry(chat_id=4, sender_id=4, matches=[("evm", EVM_A)], date=now - 20),
        entry(chat_id=5, sender_id=4, matches=[("evm", EVM_A)], date=now - 10),
        # SOL_C: only outside the window.
        entry(chat_id=6, matches=[("solana", SOL_C)], date=now - 7200),
        # Keywords are not addresses unless asked for.
        entry(chat_id=7, matches=[("keyword", "moon")], date=now - 5),
        entry(chat_id=8, matches=[("keyword", "moon")], date=now - 4),
        entry(chat_id=10, matches=[("keyword", "moon")], date=now - 3),
        entry(chat_id=11, matches=[("keyword", "moon")], date=now - 2),
    ]  # fmt: skip
    async with start_gateway() as gw:
        await seed(gw, entries)
        hot = (await get(gw, "/api/addresses/hot")).json()
        assert [(row["value"], row["chats"], row["mentions"]) for row in hot] == [
            (SOL_A, 3, 3),
            (EVM_A, 2, 2),
            (SOL_B, 1, 5),
        ]
        assert hot[0]["senders"] == 2
        assert hot[0]["kind"] == "solana"
        assert hot[0]["first_seen"] == pytest.approx(now - 300)
        assert hot[0]["last_seen"] == pytest.approx(now - 100)
        assert hot[2]["first_seen"] == pytest.approx(now - 86400)  # first ever, not in window
        assert hot[2]["mentions"] == 5  # the day-old mention is outside the window

        evm_only = (await get(gw, "/api/addresses/hot", kind="evm")).json()
        assert [row["value"] for row in evm_only] == [EVM_A]
        keywords = (await get(gw, "/api/addresses/hot", kind="keyword", limit=1)).json()
        assert [(row["value"], row["chats"]) for row in keywords] == [("moon", 4)]
        narrow = (await get(gw, "/api/addresses/hot", window=60)).json()
        assert [row["value"] for row in narrow] == [EVM_A, SOL_B]
        wide = (await get(gw, "/api/addresses/hot", window=3 * 86400, limit=10)).json()
        assert [row["value"] for row in wide] == [SOL_A, EVM_A, SOL_B, SOL_C]
        assert (await get(gw, "/api/addresses/hot", window=0)).status_code == 422


async def test_address_detail(start_gateway: GatewayFactory) -> None:
    now = time.time()
    entries = [
        entry(group="alpha", chat_id=1, chat="One", message_id=1, sender_id=1, sender="ann",
              matches=[("solana", SOL_A)], date=now - 300),
        entry(group="alpha", chat_id=1, chat="One", message_id=2, sender_id=2, sender="ben",
              matches=[("solana", SOL_A)], date=now - 200),
        entry(group="beta", chat_id=2, chat="Two", message_id=1, sender_id=1, sender="ann",
              matches=[("solana", SOL_A), ("url", "https://dexscreener.com/solana/x")],
              date=now - 100),
        entry(group="beta", chat_id=2, chat="Two", message_id=2, sender_id=3, sender="cy",
              matches=[("solana", SOL_B)], date=now - 50),
    ]  # fmt: skip
    async with start_gateway() as gw:
        await seed(gw, entries)
        response = await get(gw, f"/api/addresses/{SOL_A}")
        assert response.status_code == 200
        body = response.json()
        assert body["kind"] == "solana"
        assert body["value"] == SOL_A
        assert body["mentions"] == 3
        assert body["first_seen"] == pytest.approx(now - 300)
        assert body["chats"] == [
            {"chat_id": 1, "chat": "One", "group": "alpha",
             "first_seen": pytest.approx(now - 300), "count": 2},
            {"chat_id": 2, "chat": "Two", "group": "beta",
             "first_seen": pytest.approx(now - 100), "count": 1},
        ]  # fmt: skip
        assert body["senders"] == [
            {"sender_id": 1, "sender": "ann", "count": 2, "first_seen": pytest.approx(now - 300)},
            {"sender_id": 2, "sender": "ben", "count": 1, "first_seen": pytest.approx(now - 200)},
        ]
        assert [(t["chat_id"], t["message_id"], t["sender"]) for t in body["timeline"]] == [
            (1, 1, "ann"),
            (1, 2, "ben"),
            (2, 1, "ann"),
        ]
        short = (await get(gw, f"/api/addresses/{SOL_A}", limit=1)).json()
        assert [(t["chat_id"], t["message_id"]) for t in short["timeline"]] == [(2, 1)]

        url = await get(gw, "/api/addresses/https://dexscreener.com/solana/x")
        assert url.status_code == 200
        assert url.json()["kind"] == "url"
        assert url.json()["mentions"] == 1

        missing = await get(gw, f"/api/addresses/{SOL_C}")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "never mentioned"}


async def test_health_page_and_metrics(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        assert (await get(gw, "/healthz")).json() == {"status": "ok"}
        ready = await get(gw, "/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"redis": "ok", "database": "ok", "live": "ok"}
        page = await get(gw, "/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "telesniff" in page.text
        assert (await get(gw, f"/api/addresses/{SOL_A}")).status_code == 404
        assert (await get(gw, "/nowhere/at/all")).status_code == 404
        metrics = (await get(gw, "/metrics")).text
        assert 'route="/api/addresses/{value:path}"' in metrics
        assert 'method="GET",route="/readyz",status="200"' in metrics
        assert 'method="GET",route="<unmatched>",status="404"' in metrics
        assert SOL_A not in metrics
        assert "/nowhere" not in metrics
        assert "telesniff_gateway_ws_clients 0.0" in metrics
