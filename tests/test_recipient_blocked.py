"""A message Telegram refuses because its recipient is gone (blocked the bot, deactivated, kicked the bot, chat
not found) marks that recipient, never the user whose update caused the message, and costs no traceback, no
apology and none of the messages to other chats. Real HTTP against the fake Bot API."""

from __future__ import annotations

import logging

import pytest

from entrypoints.fake_stack import running_server
from entrypoints.smoke_checks import callback_update, message_update

USER, ADMIN_A, ADMIN_B = 7101, 9101, 9102

GONE = [
    (403, "Forbidden: bot was blocked by the user"),
    (403, "Forbidden: user is deactivated"),
    (403, "Forbidden: bot was kicked from the group chat"),
    (400, "Bad Request: chat not found"),
]


async def send_receipt(client) -> None:
    await client.say(USER, "/start")
    await client.say(USER, "/balance")
    await client.press(USER, "Пополнить")
    await client.press(USER, "Банковский перевод")
    await client.press(USER, "500,00")
    client.api.add_file("receipt-1", b"%PDF-1.4 fake receipt")
    receipt = message_update(USER, "")
    receipt["message"].pop("text")
    receipt["message"]["document"] = {"file_id": "receipt-1", "file_unique_id": "r1", "file_name": "r.pdf",
                                      "mime_type": "application/pdf"}
    assert await client.post_update(receipt) == 200
    await client.settle()


async def blocked(client, user_id: int) -> bool:
    user = await client.server.app.storage.users.get(user_id)
    return bool(user and user.blocked)


@pytest.mark.parametrize("status, description", GONE)
async def test_an_admin_who_cannot_be_reached_is_marked_not_the_user_who_sent_the_receipt(
    tmp_path, caplog, status, description
):
    caplog.set_level(logging.INFO)
    async with running_server(tmp_path, ADMIN_ID=f"{ADMIN_A},{ADMIN_B}", MANUAL_TOPUP_AMOUNTS="500") as client:
        for admin in (ADMIN_A, ADMIN_B):
            await client.say(admin, "/start")
        client.api.fail_next("sendDocument", status, description=description)  # the card to the first admin
        await send_receipt(client)
        assert await blocked(client, ADMIN_A) and not await blocked(client, USER)
        assert not await blocked(client, ADMIN_B)
        assert client.last_with_buttons(ADMIN_B).kind == "document"  # the other admin still got the card
        assert client.api.messages(USER)[-1].text.startswith("🧾 Квитанция")  # the sender's own confirmation
        assert "EXCEPTION_CAUGHT" not in caplog.text and "Что-то пошло не так" not in str(client.api.calls())
        assert "Traceback" not in caplog.text


async def test_a_user_who_blocked_the_bot_is_marked_when_an_admin_approves_not_the_admin(tmp_path, caplog):
    async with running_server(tmp_path, ADMIN_ID=str(ADMIN_A), MANUAL_TOPUP_AMOUNTS="500") as client:
        await client.say(ADMIN_A, "/start")
        await send_receipt(client)
        client.api.block_user(USER)
        card = client.last_with_buttons(ADMIN_A)
        approve = next(d for row in card.buttons for label, d in row if "Зачислить" in label)
        assert await client.post_update(callback_update(ADMIN_A, approve, card.message_id)) == 200
        await client.settle()
        assert await blocked(client, USER) and not await blocked(client, ADMIN_A)
        assert client.api.messages(ADMIN_A)[-1].text.startswith("✅")  # the admin's own screen went out
        assert "EXCEPTION_CAUGHT" not in caplog.text
        assert await client.server.app.storage.ledger.balance(USER) == 10000 + 50000
