"""Raw Telegram update JSON (shaped exactly as the Bot API sends it) → port events."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapters.telegram.updates import parse_update, update_chat_id
from ports.events import CallbackPress, Command, MediaMessage, MembershipChange, TextMessage, UserRef
from ports.media import MediaKind, MediaRef

ANN = {"id": 4242, "is_bot": False, "first_name": "Ann", "username": "ann_k", "language_code": "ru"}
ANN_REF = UserRef(id=4242, language_code="ru", username="ann_k", first_name="Ann")
PRIVATE = {"id": 4242, "first_name": "Ann", "username": "ann_k", "type": "private"}
BOT = {"id": 999000, "is_bot": True, "first_name": "TRT", "username": "TrtBot"}


def message(**fields: Any) -> dict[str, Any]:
    return {"update_id": 700001, "message": {"message_id": 17, "from": ANN, "chat": PRIVATE, "date": 1767225600,
                                             **fields}}


def test_start_command_with_bot_suffix_and_payload_becomes_a_command():
    update = message(text="/Start@TrtBot  ref_77 ", entities=[{"offset": 0, "length": 13, "type": "bot_command"}])
    assert parse_update(update) == Command(user=ANN_REF, chat_id=4242, name="start", args="ref_77", addressee="TrtBot")


def test_command_without_arguments_has_empty_args():
    assert parse_update(message(text="/balance")) == Command(user=ANN_REF, chat_id=4242, name="balance", args="")


def test_command_arguments_may_span_lines():
    assert parse_update(message(text="/admin\ncredit 5")) == Command(ANN_REF, 4242, "admin", "credit 5")


@pytest.mark.parametrize("text", ["hello", "a cat in a hat", "/", "/ spaced", " /start"])
def test_other_text_becomes_a_text_message(text):
    assert parse_update(message(text=text)) == TextMessage(user=ANN_REF, chat_id=4242, text=text)


def test_photo_takes_the_largest_size_and_the_caption():
    update = message(
        photo=[
            {"file_id": "AgAD-small", "file_unique_id": "s", "file_size": 1_311, "width": 90, "height": 67},
            {"file_id": "AgAD-large", "file_unique_id": "l", "file_size": 181_213, "width": 1280, "height": 960},
            {"file_id": "AgAD-mid", "file_unique_id": "m", "file_size": 23_771, "width": 320, "height": 240},
        ],
        caption="make it a watercolour",
    )
    assert parse_update(update) == MediaMessage(
        user=ANN_REF, chat_id=4242, caption="make it a watercolour",
        media=MediaRef(MediaKind.PHOTO, "AgAD-large", size=181_213, mime_type="image/jpeg"),
    )


@pytest.mark.parametrize(
    ("field", "body", "expected"),
    [
        ("document", {"file_name": "scan.pdf", "mime_type": "application/pdf", "file_id": "BQAD", "file_unique_id": "d",
                      "file_size": 52_000},
         MediaRef(MediaKind.DOCUMENT, "BQAD", size=52_000, mime_type="application/pdf", file_name="scan.pdf")),
        ("video", {"duration": 12, "width": 720, "height": 1280, "file_name": "clip.mp4", "mime_type": "video/mp4",
                   "file_id": "BAAD", "file_unique_id": "v", "file_size": 2_400_000},
         MediaRef(MediaKind.VIDEO, "BAAD", size=2_400_000, mime_type="video/mp4", file_name="clip.mp4", duration_s=12)),
        ("audio", {"duration": 185, "file_name": "song.mp3", "mime_type": "audio/mpeg", "title": "Song",
                   "file_id": "CQAD", "file_unique_id": "a", "file_size": 4_100_000},
         MediaRef(MediaKind.AUDIO, "CQAD", size=4_100_000, mime_type="audio/mpeg", file_name="song.mp3", duration_s=185)),
        ("voice", {"duration": 4, "mime_type": "audio/ogg", "file_id": "AwAD", "file_unique_id": "o", "file_size": 9_800},
         MediaRef(MediaKind.VOICE, "AwAD", size=9_800, mime_type="audio/ogg", duration_s=4)),
    ],
)
def test_files_become_media_messages_of_their_kind(field, body, expected):
    assert parse_update(message(**{field: body})) == MediaMessage(ANN_REF, 4242, expected, caption="")


def test_animation_is_a_video_even_though_telegram_also_sends_it_as_a_document():
    animation = {"file_name": "loop.mp4", "mime_type": "video/mp4", "duration": 3, "width": 480, "height": 480,
                 "file_id": "CgAD", "file_unique_id": "g", "file_size": 300_000}
    update = message(animation=animation, document={k: v for k, v in animation.items() if k not in ("duration", "width", "height")})
    assert parse_update(update) == MediaMessage(
        ANN_REF, 4242, MediaRef(MediaKind.VIDEO, "CgAD", size=300_000, mime_type="video/mp4", file_name="loop.mp4",
                                duration_s=3))


def test_callback_query_on_a_bot_message():
    update = {"update_id": 700002, "callback_query": {
        "id": "4382604165212413261", "from": ANN, "chat_instance": "-7766", "data": "m:img",
        "message": {"message_id": 55, "from": BOT, "chat": PRIVATE, "date": 1767225600, "text": "Menu",
                    "reply_markup": {"inline_keyboard": [[{"text": "Images", "callback_data": "m:img"}]]}},
    }}
    assert parse_update(update) == CallbackPress(user=ANN_REF, chat_id=4242, callback_id="4382604165212413261",
                                                 data="m:img", message_id=55)
    assert update_chat_id(update) == 4242


def test_callback_query_on_an_inline_message_answers_in_the_users_chat():
    update = {"update_id": 700003, "callback_query": {"id": "77", "from": ANN, "chat_instance": "1",
                                                      "inline_message_id": "AAAB", "data": "x:1"}}
    assert parse_update(update) == CallbackPress(ANN_REF, 4242, "77", "x:1", message_id=None)
    assert update_chat_id(update) == 4242


def test_callback_query_without_data_has_empty_data():
    update = {"update_id": 700004, "callback_query": {"id": "78", "from": ANN, "chat_instance": "1",
                                                      "game_short_name": "g", "inline_message_id": "AAAC"}}
    assert parse_update(update).data == ""


@pytest.mark.parametrize(("status", "active"), [("kicked", False), ("left", False), ("member", True)])
def test_my_chat_member_in_a_private_chat_is_a_membership_change(status, active):
    update = {"update_id": 700005, "my_chat_member": {
        "chat": PRIVATE, "from": ANN, "date": 1767225600,
        "old_chat_member": {"user": BOT, "status": "member"},
        "new_chat_member": {"user": BOT, "status": status, **({"until_date": 0} if status == "kicked" else {})},
    }}
    assert parse_update(update) == MembershipChange(user=ANN_REF, chat_id=4242, active=active)
    assert update_chat_id(update) == 4242


def test_my_chat_member_in_a_group_is_ignored():
    update = {"update_id": 700006, "my_chat_member": {
        "chat": {"id": -100123, "title": "G", "type": "supergroup"}, "from": ANN, "date": 1,
        "old_chat_member": {"user": BOT, "status": "member"}, "new_chat_member": {"user": BOT, "status": "left"}}}
    assert parse_update(update) is None
    assert update_chat_id(update) == -100123


def test_minimal_user_has_only_an_id_and_a_first_name():
    update = message(text="hi")
    update["message"]["from"] = {"id": 5, "is_bot": False, "first_name": "Bo"}
    assert parse_update(update).user == UserRef(id=5, first_name="Bo")


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "edited_message": message(text="fixed")["message"]},
        {"update_id": 2, "channel_post": {"message_id": 3, "chat": {"id": -1001, "title": "C", "type": "channel"},
                                          "date": 1, "text": "news"}},
        message(new_chat_members=[ANN]),
        message(sticker={"file_id": "CAAD", "file_unique_id": "k", "type": "regular", "width": 512, "height": 512,
                         "is_animated": False, "is_video": False}),
        {"update_id": 3, "message": {"message_id": 4, "sender_chat": {"id": -1001, "type": "channel", "title": "C"},
                                     "chat": {"id": -1002, "type": "supergroup", "title": "G"}, "date": 1, "text": "hi"}},
        {"update_id": 5, "some_future_kind": {"x": 1}},
    ],
    ids=["edited", "channel_post", "service", "sticker", "no_from", "future"],
)
def test_kinds_the_bot_does_not_handle_are_ignored(update):
    assert parse_update(update) is None


@pytest.mark.parametrize(
    ("mutate", "mentions"),
    [
        (lambda u: u.pop("update_id"), "update_id"),
        (lambda u: u.update(update_id="7"), "update_id"),
        (lambda u: u["message"].pop("chat"), "message.chat"),
        (lambda u: u["message"]["chat"].update(id="4242"), "message.chat.id"),
        (lambda u: u["message"]["from"].pop("id"), "message.from.id"),
        (lambda u: u["message"]["from"].update(id=True), "message.from.id"),
        (lambda u: u["message"].update(text=5), "message.text"),
        (lambda u: u["message"].update(**{"from": "ann"}), "message.from"),
        (lambda u: u.update(message=[1]), "message"),
    ],
)
def test_malformed_updates_raise_value_error_naming_the_field(mutate, mentions):
    update = copy.deepcopy(message(text="hi"))
    mutate(update)
    with pytest.raises(ValueError, match=mentions.replace(".", r"\.")):
        parse_update(update)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "callback_query": {"from": ANN, "data": "x", "chat_instance": "1"}},
        {"update_id": 1, "callback_query": {"id": "1", "data": "x", "chat_instance": "1"}},
        {"update_id": 1, "callback_query": {"id": "1", "from": ANN, "message": {"chat": PRIVATE}}},
        {"update_id": 1, "my_chat_member": {"chat": PRIVATE, "from": ANN, "new_chat_member": {}}},
        {"update_id": 1, "message": {"message_id": 1, "from": ANN, "chat": PRIVATE, "photo": []}},
        {"update_id": 1, "message": {"message_id": 1, "from": ANN, "chat": PRIVATE, "document": {"file_size": 3}}},
        {"update_id": 1, "message": {"message_id": 1, "from": ANN, "chat": PRIVATE,
                                     "video": {"file_id": "v", "duration": "long"}}},
    ],
    ids=["callback_no_id", "callback_no_from", "callback_message_no_id", "member_no_status", "empty_photo",
         "document_no_file_id", "duration_not_int"],
)
def test_other_malformed_shapes_raise_value_error(update):
    with pytest.raises(ValueError):
        parse_update(update)


def test_non_object_update_raises_value_error():
    with pytest.raises(ValueError, match="update must be a JSON object"):
        parse_update(["not", "an", "update"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        update_chat_id("nope")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("update", "chat_id"),
    [
        (message(text="hi"), 4242),
        ({"update_id": 1, "edited_message": message(text="x")["message"]}, 4242),
        ({"update_id": 1, "pre_checkout_query": {"id": "q", "from": ANN, "currency": "XTR", "total_amount": 5,
                                                 "invoice_payload": "p"}}, None),  # answered at once, unqueued
        ({"update_id": 1, "callback_query": {"id": "q", "from": ANN, "chat_instance": "1", "data": "d",
                                             "message": {"message_id": 2, "date": 0,
                                                         "chat": {"id": -100777, "type": "supergroup", "title": "G"}}}},
         -100777),
        ({"update_id": 1, "some_future_kind": {}}, None),
    ],
    ids=["message", "edited", "pre_checkout", "callback_in_group_inaccessible_message", "unknown"],
)
def test_update_chat_id_names_the_chat_for_ordering(update, chat_id):
    assert update_chat_id(update) == chat_id


def test_update_chat_id_of_a_message_without_chat_is_a_value_error():
    with pytest.raises(ValueError, match=r"message\.chat"):
        update_chat_id({"update_id": 1, "message": {"message_id": 1, "date": 0}})
