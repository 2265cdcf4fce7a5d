"""Pure functions of the gateway: filters, frames, stream ids, tokens, origins."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest
from pydantic import SecretStr
from websockets.frames import Frame as WSFrame
from websockets.frames import Opcode
from websockets.streams import StreamReader

from telesniff.contract import to_view
from telesniff.gateway.auth import (
    bearer_from_header,
    bearer_from_subprotocols,
    normalize_origins,
    origin_allowed,
    token_bytes,
    token_matches,
)
from telesniff.gateway.filters import OPEN, Filter, FilterError, parse_filter
from telesniff.gateway.frames import (
    Frame,
    Item,
    admits,
    decode_batch,
    parse_stream_id,
    text_frame,
)
from telesniff.gateway.hub import Client
from telesniff.gateway.metrics import Metrics

from .kit import EVM_A, SOL_A, batch_payload, entry


async def pumped(client: Client, frames: list[Frame]) -> list[list[str]]:
    """Queue ``frames`` and an end marker, run the client's sender until it sends the marker.

    Returns the cursors of each message sent, without the marker.
    """
    marker = "999-0"
    for frame in [*frames, frame_of(marker)]:
        assert client.offer(frame)
    sent: list[list[str]] = []
    finished = asyncio.Event()

    async def send(text: str) -> None:
        cursors = [item["cursor"] for item in orjson.loads(text)["items"]]
        if marker in cursors:
            cursors.remove(marker)
            finished.set()
        if cursors:
            sent.append(cursors)

    task = asyncio.create_task(client.pump(send, Metrics()))
    await asyncio.wait_for(finished.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return sent


def test_parse_filter_normalizes() -> None:
    rule = parse_filter(
        group="alpha, beta", chat="-100123", sender="@Alice", kind="evm,solana", q="PuMp"
    )
    assert rule == Filter(
        groups=frozenset({"alpha", "beta"}),
        chat_id=-100123,
        sender="alice",
        kinds=frozenset({"evm", "solana"}),
        q="pump",
    )
    assert parse_filter(sender="42") == Filter(sender_id=42)
    assert parse_filter() == OPEN
    assert OPEN.is_open
    assert not parse_filter(q="x").is_open


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "btc"}, "kind: unknown btc"),
        ({"kind": ","}, "kind: empty value"),
        ({"chat": "twelve"}, "chat: expected an integer"),
        ({"sender": " @ "}, "sender: empty value"),
        ({"q": "x" * 201}, "q: longer than 200"),
    ],
)
def test_parse_filter_rejects(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(**kwargs)


def test_admits() -> None:
    item = Item(
        "5-0",
        (5, 0),
        entry(group="alpha", chat_id=7, sender_id=3, sender="Bob", text="Big PUMP",
              matches=[("solana", SOL_A), ("url", "https://x")]),
    )  # fmt: skip
    assert admits(OPEN, item)
    assert admits(parse_filter(group="beta,alpha", kind="url", sender="BOB", q="pump"), item)
    assert admits(parse_filter(chat="7", sender="3"), item)
    for rule in (
        parse_filter(group="beta"),
        parse_filter(chat="8"),
        parse_filter(sender="4"),
        parse_filter(sender="alice"),
        parse_filter(kind="evm"),
        parse_filter(q="dump"),
    ):
        assert not admits(rule, item), rule


def test_frame_is_the_contract_view() -> None:
    first, second = entry(text="a"), entry(text="b", matches=[("evm", EVM_A)])
    frame = Frame([Item("2-1", (2, 1), first), Item("1-9", (1, 9), second)])
    assert orjson.loads(frame.text) == {
        "type": "detections",
        "items": [
            orjson.loads(orjson.dumps(to_view(first, "2-1"))),
            orjson.loads(orjson.dumps(to_view(second, "1-9"))),
        ],
    }
    assert (frame.low, frame.high) == ((1, 9), (2, 1))


def test_decode_batch_skips_what_it_cannot_read() -> None:
    good = entry(text="ok")
    payload = batch_payload([("3-0", good)])[:-1] + b',["x-0",{}],[1],"s",["4-0",{"v":1}]]'
    items, skipped = decode_batch(payload)
    assert [item.cursor for item in items] == ["3-0"]
    assert items[0].data == orjson.dumps(to_view(good, "3-0"))
    assert skipped == 4
    assert decode_batch(b"nope") == ([], 1)
    assert decode_batch(b"{}") == ([], 1)
    deep = b"[" * 100_000 + b"]" * 100_000
    assert decode_batch(deep) == ([], 1)
    # Too deep to even find where that pair ends (no consumer publishes one: it would have
    # dead-lettered the entry): the batch is skipped as one, and nothing raises.
    assert decode_batch(payload[:-1] + b',["5-0",' + deep + b"]]") == ([], 1)


def test_a_live_batch_entry_is_decoded_by_the_contract() -> None:
    original = entry(text="round trip", sender=None, sender_id=None, edit=True)
    (item,), skipped = decode_batch(batch_payload([("5-0", original)]))
    assert skipped == 0
    assert item.data == orjson.dumps(to_view(original, "5-0"))
    # What the contract refuses, the live feed skips (counted), as it does a broken pair.
    assert decode_batch(b'[["6-0",{"v":1,"group":"g","chat_id":"1"}]]') == ([], 1)


def test_stream_ids() -> None:
    assert parse_stream_id("1733333333333-12") == (1733333333333, 12)
    assert parse_stream_id("1733333333333") == (1733333333333, 0)
    assert parse_stream_id("9-10") > parse_stream_id("9-9")
    for bad in ("", "-1", "a-b", "1-", "1-2-3", "$", "\uff11-0", f"{2**64}-0"):
        with pytest.raises(ValueError, match="stream id"):
            parse_stream_id(bad)


def test_tokens() -> None:
    tokens = token_bytes([SecretStr("one"), SecretStr(" "), SecretStr("two")])
    assert tokens == (b"one", b"two")
    assert token_matches("two", tokens)
    assert not token_matches("tw", tokens)
    assert not token_matches(None, tokens)
    assert not token_matches("one", ())
    assert bearer_from_header("Bearer abc") == "abc"
    assert bearer_from_header("bearer  abc ") == "abc"
    assert bearer_from_header("Basic abc") is None
    assert bearer_from_header("Bearer") is None
    assert bearer_from_subprotocols(["telesniff.v1", "bearer.xyz"]) == "xyz"
    assert bearer_from_subprotocols(["bearer."]) is None


def test_origins() -> None:
    allowed = normalize_origins(["https://Desk.example/", " "])
    assert allowed == frozenset({"https://desk.example"})
    assert origin_allowed("https://desk.example", "gw:8000", allowed)
    assert origin_allowed(None, "gw:8000", allowed)
    assert origin_allowed("http://gw:8000", "gw:8000", allowed)  # same origin
    assert not origin_allowed("https://evil.example", "gw:8000", allowed)
    assert not origin_allowed("null", "gw:8000", allowed)
    assert origin_allowed("https://evil.example", "gw:8000", frozenset())
    assert origin_allowed("https://evil.example", "gw:8000", frozenset({"*"}))


def frame_of(*cursors: str) -> Frame:
    return Frame([Item(cursor, parse_stream_id(cursor), entry()) for cursor in cursors])


def queued(capacity: int) -> Client:
    """A client on the queued path (no raw writer), as before the switch or on other servers."""
    return Client(OPEN, capacity, 1 << 20)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_text_frame_length_encodings_parse_as_rfc_6455(size: int) -> None:
    payload = ("é" * (size // 2) + "x" * (size % 2)).encode()
    wire = text_frame(payload)
    reader = StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    parser = WSFrame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as stop:
        frame = stop.value
    else:
        raise AssertionError("incomplete frame")
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)
    assert reader.at_eof()  # nothing after the frame


def test_a_full_queue_refuses() -> None:
    client = queued(2)
    assert client.offer(frame_of("1-0"))
    assert client.offer(frame_of("2-0"))
    assert not client.offer(frame_of("3-0"))


async def test_a_client_behind_gets_queued_frames_merged() -> None:
    client = queued(10)
    sent = await pumped(client, [frame_of("1-0", "1-1"), frame_of("2-0"), frame_of("3-0")])
    assert sent == [["1-0", "1-1", "2-0", "3-0"]]


async def test_the_resume_watermark_skips_what_the_replay_sent() -> None:
    client = queued(10)
    client.after = (2, 0)
    sent = await pumped(client, [frame_of("1-0", "2-0")])  # all covered: nothing sent
    assert sent == []
    sent = await pumped(client, [frame_of("1-5", "3-0"), frame_of("0-1", "4-0")])
    assert sent == [["3-0", "4-0"]]
    sent = await pumped(client, [frame_of("5-0")])
    assert sent == [["5-0"]]
