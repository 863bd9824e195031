"""Group chats are not private chats (issue 13, item 8): update JSON from groups, supergroups and forum topics
through the real parser and the real core, and once end to end through HTTP and the fake Bot API.

In a group the bot answers only commands addressed to it, with an invitation to the private chat (never a
balance, a ledger or an id), ignores commands for other bots and everything else, answers any button with a
toast, and replies in the forum topic the command came from."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from adapters.telegram.updates import parse_update
from core.bot import Outcome
from core.passive import passive_reply
from entrypoints.fake_stack import running_server
from ports.effects import AnswerCallback, EditScreen, SendScreen
from ports.events import CallbackPress, Command, TextMessage, UserRef
from tests.harness import Bot, running_bot

USER = 7123456789
GROUP = -1001234567890
TOPIC = 77
_ids = itertools.count(5000)


def sender(user_id: int = USER) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ann", "username": "ann", "language_code": "ru"}


def group_message(text: str, *, chat_type: str = "supergroup", topic: int | None = None, **fields: Any) -> dict:
    message = {"message_id": next(_ids), "date": 1767225600, "from": sender(), "text": text,
               "chat": {"id": GROUP, "type": chat_type, "title": "Friends"}, **fields}
    if topic is not None:
        message.update(message_thread_id=topic, is_topic_message=True)
    return {"update_id": next(_ids), "message": message}


def group_press(data: str, presser: int = USER, **message_fields: Any) -> dict:
    message = {"message_id": 12, "date": 1767225600, "chat": {"id": GROUP, "type": "supergroup"}, **message_fields}
    query = {"id": f"q{next(_ids)}", "from": sender(presser), "chat_instance": "5", "data": data, "message": message}
    return {"update_id": next(_ids), "callback_query": query}


async def handle(bot: Bot, update: dict) -> Outcome:
    event = parse_update(update)
    assert event is not None
    return await bot.app.core.handle(event)


def assert_invitation(outcome: Outcome, bot_username: str, thread_id: int | None = None) -> None:
    assert outcome.route == "group_command"
    [effect] = outcome.effects
    assert isinstance(effect, SendScreen) and effect.chat_id == GROUP and effect.thread_id == thread_id
    assert [b.url for b in effect.screen.buttons()] == [f"https://t.me/{bot_username}?start=group"]
    assert all(b.data is None for b in effect.screen.buttons())  # no button a group member could press
    assert str(USER) not in effect.screen.text and "₽" not in effect.screen.text


# --- the parser carries chat type, topic and addressee ------------------------------------------------------


def test_a_command_in_a_forum_topic_carries_its_chat_type_topic_and_addressee():
    event = parse_update(group_message("/Start@Other_Bot ref_x", topic=TOPIC))
    assert event == Command(UserRef(USER, "ru", "ann", "Ann"), GROUP, "start", "ref_x", addressee="Other_Bot",
                            chat_type="supergroup", thread_id=TOPIC)
    assert parse_update(group_message("/start", chat_type="group")).addressee is None


def test_a_reply_thread_outside_a_forum_is_not_a_topic():
    event = parse_update(group_message("hello", message_thread_id=31))  # no is_topic_message
    assert isinstance(event, TextMessage) and event.chat_type == "supergroup" and event.thread_id is None


def test_a_button_under_a_group_message_carries_the_groups_chat_type():
    event = parse_update(group_press("balance", message_thread_id=TOPIC, is_topic_message=True))
    assert isinstance(event, CallbackPress) and (event.chat_type, event.thread_id) == ("supergroup", TOPIC)


def test_private_chats_stay_private():
    private = {"update_id": 1, "message": {"message_id": 1, "date": 1, "from": sender(), "text": "/start",
                                           "chat": {"id": USER, "type": "private"}}}
    event = parse_update(private)
    assert isinstance(event, Command) and event.chat_type == "private" and event.thread_id is None


# --- the core answers groups with an invitation, or not at all -----------------------------------------------


@pytest.mark.parametrize("text", ["/start", "/start@TrtBot", "/START@trtbot", "/balance", "/help@TrtBot x"])
async def test_a_command_for_this_bot_in_a_group_gets_only_an_invitation(tmp_path, text):
    async with running_bot(tmp_path) as bot:
        assert_invitation(await handle(bot, group_message(text, chat_type="group")), "TrtBot")
        assert await bot.app.storage.users.get(USER) is None  # nothing stored about a group member


async def test_the_invitation_goes_to_the_forum_topic_the_command_came_from(tmp_path):
    async with running_bot(tmp_path) as bot:
        assert_invitation(await handle(bot, group_message("/start", topic=TOPIC)), "TrtBot", TOPIC)


@pytest.mark.parametrize("text", ["/start@other_bot", "/balance@TrtBot_helper", "hello", "12.50"])
async def test_commands_for_other_bots_and_plain_text_in_a_group_get_nothing(tmp_path, text):
    async with running_bot(tmp_path) as bot:
        outcome = await handle(bot, group_message(text))
        assert (outcome.route, outcome.effects) == ("group_ignored", [])


async def test_a_button_pressed_in_a_group_only_gets_a_toast(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")  # the owner has a private screen; pressing an old group copy changes nothing
        for presser in (USER, 4242):
            outcome = await handle(bot, group_press("balance", presser))
            [effect] = outcome.effects
            assert isinstance(effect, AnswerCallback) and effect.text.startswith("Эта кнопка работает только")
            assert outcome.rejected == "GROUP_CHAT"
        assert not any(isinstance(e, EditScreen) for e in bot.chat.effects)


async def test_a_stars_payment_made_in_a_group_is_credited_and_receipted_privately(tmp_path):
    async with running_bot(tmp_path, user_id=USER) as bot:
        body = {"currency": "XTR", "total_amount": 100, "invoice_payload": "stars:100",
                "telegram_payment_charge_id": "stxGroupPaid"}
        update = group_message("")
        del update["message"]["text"]
        update["message"]["successful_payment"] = body
        outcome = await handle(bot, update)
        [receipt] = outcome.effects
        assert isinstance(receipt, SendScreen) and receipt.chat_id == USER and receipt.thread_id is None
        assert await bot.balance() == 10000 + 15000


async def test_private_chats_are_served_as_before(tmp_path):
    async with running_bot(tmp_path) as bot:
        outcome = await bot.send("/start@SomeoneElse")  # in a private chat there is only us
        assert outcome.route == "/start" and bot.last().text.startswith("👋")


def test_a_passive_instance_posts_nothing_into_a_group():
    assert passive_reply(parse_update(group_message("/start")), "ru") == []
    [toast] = passive_reply(parse_update(group_press("balance")), "ru")
    assert isinstance(toast, AnswerCallback)


# --- end to end: the webhook, the parser, the core, the messenger and the fake Bot API -----------------------


async def test_a_group_command_is_answered_in_its_topic_through_the_bot_api(tmp_path):
    async with running_server(tmp_path) as client:
        assert await client.post_update(group_message("/start@TrtFakeBot", topic=TOPIC)) == 200
        assert await client.post_update(group_message("/start@other_bot", topic=TOPIC)) == 200
        assert await client.post_update(group_press("balance")) == 200
        await client.settle()
        [sent] = [c.params for c in client.api.calls("sendMessage")]
        assert sent["chat_id"] == GROUP and sent["message_thread_id"] == TOPIC
        assert "TrtFakeBot" in sent["text"] and str(USER) not in sent["text"]
        assert sent["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://t.me/TrtFakeBot?start=group"
        [toast] = [c.params for c in client.api.calls("answerCallbackQuery")]
        assert toast["text"].startswith("Эта кнопка работает только")
        assert not client.api.calls("editMessageText")
