"""The outbox stores effects as JSON: every effect type comes back equal, and bad data is refused cleanly."""

from __future__ import annotations

import json

import pytest

from ports.effect_codec import TYPES, decode, encode
from ports.effects import (
    AnswerCallback,
    AnswerPreCheckout,
    EditScreen,
    ResultKind,
    SendAlbum,
    SendFile,
    SendInvoice,
    SendMedia,
    SendScreen,
)
from ports.screens import Button, Screen

KEYBOARD = ((Button("🎨 Картинки", "cat:image"), Button("Site", url="https://example.com/?a=1&b=2")),
            (Button("menu", "menu"),))
SCREEN = Screen("Привет <b>&\n\u0000 😀", KEYBOARD, "menu")
EVERY_EFFECT = [
    SendScreen(42, SCREEN),
    SendScreen(-100123, Screen("topic"), thread_id=7),
    EditScreen(42, 99, SCREEN),
    AnswerCallback("cb-1", "Уже запущено", alert=True),
    AnswerCallback("cb-2"),
    SendMedia(42, ResultKind.PHOTO, "https://x/y.png", "caption", KEYBOARD, {"photo_too_large": "as a file"}),
    SendMedia(42, ResultKind.LINK, "file:///tmp/a.mp4"),
    SendAlbum(42, ResultKind.VIDEO, ("https://x/1.mp4", "https://x/2.mp4"), "two", {"too_large": "link"}),
    SendFile(7, ResultKind.DOCUMENT, "file-id-1", "receipt", KEYBOARD),
    SendInvoice(42, "Top-up", "100 Stars", "stars:100:draft1", 100),
    AnswerPreCheckout("q-1", False, "package gone"),
    AnswerPreCheckout("q-2", True),
]


def test_the_examples_cover_every_effect_type():
    assert {type(effect).__name__ for effect in EVERY_EFFECT} == set(TYPES)


@pytest.mark.parametrize("effect", EVERY_EFFECT, ids=lambda effect: type(effect).__name__)
def test_every_effect_round_trips_through_json_text(effect):
    back = decode(json.loads(json.dumps(encode(effect))))
    assert back == effect and type(back) is type(effect)
    assert getattr(back, "notes", None) == getattr(effect, "notes", None)  # not part of equality, kept anyway


@pytest.mark.parametrize("data", [
    None, [], {"type": "Nope"}, {"type": "SendScreen"},
    {"type": "SendScreen", "chat_id": "42", "screen": {"text": "x"}},
    {"type": "SendScreen", "chat_id": 42, "screen": {"text": "x", "keyboard": [[["only label"]]]}},
    {"type": "SendScreen", "chat_id": 42, "screen": {"text": "x"}, "extra": 1},
    {"type": "SendMedia", "chat_id": 1, "kind": "gif", "url": "u"},
    {"type": "AnswerCallback", "callback_id": "c", "alert": "yes"},
    {"type": "SendAlbum", "chat_id": 1, "kind": "photo", "urls": "not a list"},
    {"type": "SendScreen", "chat_id": True, "screen": {"text": "x"}},
])
def test_bad_data_is_refused_with_a_value_error(data):
    with pytest.raises(ValueError):
        decode(data)


def test_only_effects_encode():
    with pytest.raises(ValueError):
        encode(SCREEN)  # type: ignore[arg-type]
