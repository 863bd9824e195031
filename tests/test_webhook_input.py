"""Hostile and odd webhook bodies over real HTTP, on JSON files and on PostgreSQL: anything Telegram can send
is stored as it came and processed; anything else gets 400, never 500; aiohttp's own complaints about
malformed requests are one log line."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging

import asyncpg
import pytest

from adapters.storage import json_journal
from adapters.storage.json_inbox import InboxDocument
from entrypoints.fake_stack import SECRET_PATH, SECRET_TOKEN, running_server
from entrypoints.smoke_checks import SECRET_HEADER, message_update
from tests.pg import scratch_database

USER = 5151


@pytest.fixture(params=["json", "postgres"])
async def backend(request):
    if request.param == "json":
        yield {}
    else:
        async with scratch_database(migrated=True) as dsn:
            yield {"DATABASE_URL": dsn}


async def post_raw(client, body: bytes, **headers: str) -> int:
    headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json", **headers}
    async with client.http.post(f"{client.base}/webhook/{SECRET_PATH}", data=body, headers=headers) as response:
        return response.status


def deep(depth: int) -> bytes:
    return b'{"update_id":77,"x":' + b"[" * depth + b"]" * depth + b"}"


BAD_BODIES = {
    "nesting 1000": deep(1000),
    "nesting 64 arrays": deep(64),
    "integer of 5000 digits": b'{"update_id":78,"n":' + b"7" * 5000 + b"}",
    "NaN": b'{"update_id":79,"n":NaN}',
    "Infinity": b'{"update_id":80,"n":Infinity}',
    "1e999": b'{"update_id":81,"n":1e999}',
    "lone surrogate": b'{"update_id":82,"message":{"text":"\\ud800"}}',
    "update_id 2^63": b'{"update_id":9223372036854775808}',
    "update_id -1": b'{"update_id":-1}',
    "not UTF-8": b'{"update_id":83,"s":"\xc3\x28"}',
}


async def test_bodies_nothing_could_store_or_process_get_400_on_both_storages(tmp_path, backend):
    async with running_server(tmp_path, **backend) as client:
        for name, body in BAD_BODIES.items():
            assert await post_raw(client, body) == 400, name
        assert await post_raw(client, b"this is not gzip", **{"Content-Encoding": "gzip"}) == 400
        assert await client.server.app.storage.inbox.depth() == 0
        # a good gzip body is still taken
        update = message_update(USER, "/start")
        assert await post_raw(client, gzip.compress(json.dumps(update).encode()), **{"Content-Encoding": "gzip"}) == 200
        await client.settle()
        assert client.api.messages(USER)[-1].text.startswith("👋 Привет")


async def test_an_update_with_u0000_anywhere_is_stored_as_sent_and_processed(tmp_path, backend):
    async with running_server(tmp_path, **backend) as client:
        await client.say(USER, "/start")
        update = message_update(USER, "a\x00cat\x00")
        update["message"]["from"]["first_name"] = "An\x00n"
        update["message"]["entities"] = [{"type": "bold", "offset": 0, "length": 1, "x\x00": "\x00"}]
        body = json.dumps(update)
        assert "\\u0000" in body
        assert await post_raw(client, body.encode()) == 200
        assert await post_raw(client, body.encode()) == 200  # Telegram's retry: a duplicate, not an error
        await client.settle()
        assert await client.server.app.storage.inbox.depth() == 0
        assert len(client.api.messages(USER)) >= 2  # the text got its answer
        if backend:  # PostgreSQL: the row held the body as sent until it was processed
            conn = await asyncpg.connect(backend["DATABASE_URL"])
            try:
                kind = await conn.fetchval(
                    "SELECT data_type FROM information_schema.columns WHERE table_name='inbox' AND column_name='payload'"
                )
            finally:
                await conn.close()
            assert kind == "text"


async def test_the_stored_payload_is_the_body_text_as_received(tmp_path, backend):
    async with running_server(tmp_path, **backend) as client:
        client.server.dispatcher.processing = False  # keep it pending, to look at it
        body = '{ "update_id" : 4242,\n "edited_message": {"text": "\\u0000 \\u00e9 \\ud83d\\ude00 é", "n": 1.50}}'
        assert await post_raw(client, body.encode()) == 200
        if backend:
            conn = await asyncpg.connect(backend["DATABASE_URL"])
            try:
                stored = await conn.fetchval("SELECT payload FROM inbox WHERE update_id = 4242")
            finally:
                await conn.close()
            assert stored == body
        else:
            path = tmp_path / "data" / "inbox.json"
            inbox = json_journal.read_durable(path, InboxDocument.parse, InboxDocument.empty)
            assert body.encode() in inbox.dump()  # the document a restart loads (snapshot + journal)
        [pending] = await client.server.app.storage.inbox.pending()
        assert pending.payload == json.loads(body)
        client.server.dispatcher.processing = True


async def test_a_malformed_request_is_logged_by_aiohttp_as_one_line(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    async with running_server(tmp_path) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(
            f"POST /webhook/{SECRET_PATH} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 20000}\r\nContent-Length: 2\r\n\r\n{{}}".encode()
        )
        await writer.drain()
        answer = await reader.read(100)
        writer.close()
        assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
        assert await post_raw(client, b"not gzip", **{"Content-Encoding": "gzip"}) == 400
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records, "aiohttp said nothing about the malformed requests"
    for record in records:
        assert record.exc_info is None and record.levelno <= logging.WARNING, record.getMessage()
        assert "\n" not in record.getMessage() and "Traceback" not in caplog.text
    assert any("LineTooLong" in r.getMessage() for r in records)
