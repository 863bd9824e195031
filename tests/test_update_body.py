"""The webhook body → one update: everything stored can be processed, everything else is refused."""

from __future__ import annotations

import json

import pytest

from adapters.telegram.update_body import MAX_DEPTH, MalformedUpdateError, read_update
from adapters.telegram.updates import ID_LIMIT, parse_update, update_chat_id
from ports.events import TextMessage


def nested(depth: int) -> bytes:
    """An update whose deepest value sits ``depth`` objects/arrays down (the update itself is level 1)."""
    return b'{"update_id":1,"x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


REAL = (
    '{"update_id":900001,"message":{"message_id":5,"from":{"id":42,"is_bot":false,"first_name":"\\u0410\\u043d\\u044f"},'
    '"chat":{"id":42,"type":"private"},"date":1767225600,"text":"a\\u0000b \\ud83d\\ude00"}}'
)


def test_a_real_update_is_read_once_and_its_text_kept_verbatim():
    body = read_update(REAL.encode())
    assert body.update_id == 900001 and body.text == REAL
    assert body.payload["message"]["text"] == "a\x00b 😀"  # an escaped U+0000 and a surrogate pair are fine
    event = parse_update(body.payload)
    assert isinstance(event, TextMessage) and event.text == "a\ufffdb 😀"  # stored as sent, read without U+0000


def test_nesting_up_to_the_limit_is_taken_and_one_more_level_is_refused():
    assert read_update(nested(MAX_DEPTH)).update_id == 1
    with pytest.raises(MalformedUpdateError, match="deeper"):
        read_update(nested(MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(nested(1000), id="nesting-1000"),
        pytest.param(nested(100_000), id="nesting-100000"),
        pytest.param(b'{"update_id":1,"n":' + b"9" * 4301 + b"}", id="int-4301-digits"),
        pytest.param(b'{"update_id":' + b"9" * 5000 + b"}", id="update-id-5000-digits"),
        pytest.param(b'{"update_id":1,"n":NaN}', id="nan"),
        pytest.param(b'{"update_id":1,"n":Infinity}', id="infinity"),
        pytest.param(b'{"update_id":1,"n":-Infinity}', id="minus-infinity"),
        pytest.param(b'{"update_id":1,"n":1e999}', id="1e999"),
        pytest.param(b'{"update_id":1,"s":"\\ud800"}', id="lone-high-surrogate"),
        pytest.param(b'{"update_id":1,"s":"x\\udc00y"}', id="lone-low-surrogate"),
        pytest.param(b'{"update_id":1,"s":["\\ude00\\ud83d"]}', id="reversed-pair"),
        pytest.param(b'{"update_id":1,"\\ud800":1}', id="surrogate-key"),
        pytest.param(b'{"update_id":1,"s":"\xed\xa0\x80"}', id="utf8-encoded-surrogate"),
        pytest.param(b'{"update_id":1,"s":"\xff"}', id="not-utf8"),
        pytest.param(b'{"update_id":1,"s":"a\x00b"}', id="raw-nul-in-string"),
        pytest.param(b'\xef\xbb\xbf{"update_id":1}', id="bom"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"update_id"', id="string"),
        pytest.param(b'{"message":{}}', id="no-update-id"),
        pytest.param(b'{"update_id":"7"}', id="string-update-id"),
        pytest.param(b'{"update_id":true}', id="bool-update-id"),
        pytest.param(b'{"update_id":7.0}', id="float-update-id"),
        pytest.param(b'{"update_id":-1}', id="negative-update-id"),
        pytest.param(b'{"update_id":9223372036854775808}', id="update-id-2^63"),
        pytest.param(b'{"update_id":%d}' % ID_LIMIT, id="update-id-at-limit"),
    ],
)
def test_a_body_nothing_downstream_could_use_is_refused(body):
    with pytest.raises(MalformedUpdateError):
        read_update(body)


def test_an_escaped_backslash_before_u_is_not_mistaken_for_a_surrogate():
    body = read_update(b'{"update_id":1,"s":"\\\\ud800"}')
    assert body.payload["s"] == "\\ud800"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, ID_LIMIT, -ID_LIMIT, 10**40])
def test_ids_outside_what_telegram_sends_make_the_update_malformed(value):
    update = json.loads(REAL)
    update["message"]["chat"]["id"] = value
    with pytest.raises(ValueError, match="out of range"):
        parse_update(update)
    with pytest.raises(ValueError, match="out of range"):
        update_chat_id(update)


@pytest.mark.parametrize("value", [0, -42])
def test_a_sender_with_a_user_id_that_is_not_positive_makes_the_update_malformed(value):
    update = json.loads(REAL)
    update["message"]["from"]["id"] = value
    with pytest.raises(ValueError, match="positive"):
        parse_update(update)


def test_u0000_in_the_fields_the_bot_reads_becomes_a_replacement_character():
    body = read_update(REAL.encode())
    body.payload["message"]["from"]["first_name"] = "A\x00nn"
    event = parse_update(body.payload)
    assert event.text == "a\ufffdb 😀" and event.user.first_name == "A\ufffdnn"


@pytest.mark.parametrize("amount", [0, -100])
def test_a_payment_of_a_non_positive_amount_makes_the_update_malformed(amount):
    update = json.loads(REAL)
    update["message"].pop("text")
    update["message"]["successful_payment"] = {
        "currency": "XTR", "total_amount": amount, "invoice_payload": "stars:100",
        "telegram_payment_charge_id": "ch-1", "provider_payment_charge_id": "",
    }
    with pytest.raises(ValueError, match="total_amount must be positive"):
        parse_update(update)
