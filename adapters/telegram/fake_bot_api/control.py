"""Acting as a Telegram user against FakeBotApi: send text or a photo, press a button, pay an invoice, read the
chat. The functions build the updates Telegram would create and queue them (getUpdates, or the webhook when
one is set and delivery is on); :func:`add_control_routes` serves them as a small HTTP API under ``/_fake/``
for other processes (the CLI in ``__main__``, curl, a test):

    POST /_fake/say    {"chat": 1001, "text": "/start", "lang": "ru"}
    POST /_fake/photo  {"chat": 1001, "path": "/abs/cat.png", "caption": "make it blue"}
    POST /_fake/press  {"chat": 1001, "button": "2"}        (number of the button in the last keyboard, or a label part)
    POST /_fake/pay    {"chat": 1001}                       (the last invoice: pre-checkout, then the payment)
    GET  /_fake/chat/1001                                    (every message, oldest first)

Answers are JSON: ``{"ok": true, …}`` or ``{"ok": false, "error": "…"}`` with status 400.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from adapters.telegram.fake_bot_api.models import SentMessage

if TYPE_CHECKING:
    from adapters.telegram.fake_bot_api.server import FakeBotApi

PRE_CHECKOUT_WAIT_S = 10.0  # Telegram gives the bot 10 s to answer a pre-checkout query
_query_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)


class UserActionError(ValueError):
    """What the user asked cannot be done (no such button, no invoice, the payment was refused…)."""


def user_json(chat_id: int, lang: str = "ru") -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": f"User{chat_id}", "language_code": lang}


def _message(api: FakeBotApi, chat_id: int, lang: str, body: dict[str, Any]) -> dict[str, Any]:
    stored = api.user_message(chat_id, str(body.get("text") or body.get("caption") or ""))
    message = {"message_id": stored.message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
               "from": user_json(chat_id, lang), **body}
    return _queued(api, {"message": message})


def _queued(api: FakeBotApi, update: dict[str, Any]) -> dict[str, Any]:
    queued = api.push_update(update)
    if queued is None:
        raise UserActionError("the bot's allowed_updates exclude this kind of update")
    return queued


def say(api: FakeBotApi, chat_id: int, text: str, lang: str = "ru") -> dict[str, Any]:
    if not text:
        raise UserActionError("empty text")
    return _message(api, chat_id, lang, {"text": text})


def send_photo(api: FakeBotApi, chat_id: int, data: bytes, caption: str = "", lang: str = "ru") -> dict[str, Any]:
    file_id = f"userphoto-{chat_id}-{next(_query_ids)}"
    api.add_file(file_id, data, file_path=f"photos/{file_id}.jpg")
    photo = [{"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 512, "height": 512, "file_size": len(data)}]
    body: dict[str, Any] = {"photo": photo}
    if caption:
        body["caption"] = caption
    return _message(api, chat_id, lang, body)


def last_keyboard(api: FakeBotApi, chat_id: int) -> SentMessage:
    with_buttons = [m for m in api.messages(chat_id) if m.from_bot and m.buttons]
    if not with_buttons:
        raise UserActionError("no message with buttons in this chat")
    return with_buttons[-1]


def press(api: FakeBotApi, chat_id: int, button: str, lang: str = "ru") -> dict[str, Any]:
    """``button``: its number in the last keyboard (1 = top left, row by row) or a part of its label."""
    message = last_keyboard(api, chat_id)
    buttons = [pair for row in message.buttons for pair in row]
    if button.isdigit() and 1 <= int(button) <= len(buttons):
        label, data = buttons[int(button) - 1]
    else:
        found = [pair for pair in buttons if button.lower() in pair[0].lower()]
        if not found:
            raise UserActionError(f"no button {button!r}; there are {[label for label, _ in buttons]}")
        label, data = found[0]
    if data.startswith(("http://", "https://", "tg://")):
        raise UserActionError(f"{label!r} is a link: {data}")
    query = {"id": str(next(_query_ids)), "from": user_json(chat_id, lang), "chat_instance": str(chat_id), "data": data,
             "message": api._message_json(message)}
    return _queued(api, {"callback_query": query})


async def pay(api: FakeBotApi, chat_id: int, wait: float = PRE_CHECKOUT_WAIT_S) -> dict[str, Any]:
    """Pay the chat's last Stars invoice: the pre-checkout query, and once the bot says ok, the payment."""
    invoices = [m for m in api.messages(chat_id) if m.invoice is not None]
    if not invoices:
        raise UserActionError("no invoice in this chat")
    invoice = invoices[-1].invoice
    assert invoice is not None
    pre_checkout, paid = api.pay_invoice(chat_id, invoice["payload"], int(invoice["total_amount"]))
    query_id = pre_checkout["pre_checkout_query"]["id"]
    _queued(api, pre_checkout)
    deadline = time.monotonic() + wait
    while query_id not in api.pre_checkout_answers:
        if time.monotonic() > deadline:
            raise UserActionError(f"the bot did not answer the pre-checkout query within {wait:g} s")
        await asyncio.sleep(0.05)
    answer = api.pre_checkout_answers[query_id]
    if not answer["ok"]:
        raise UserActionError(f"the bot refused the payment: {answer['error_message']}")
    _queued(api, paid)
    charge = paid["message"]["successful_payment"]
    return {"charge_id": charge["telegram_payment_charge_id"], "stars": charge["total_amount"]}


def chat_json(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    """The chat as the user sees it, oldest first; buttons numbered as :func:`press` counts them."""
    out = []
    for message in api.messages(chat_id):
        entry: dict[str, Any] = {"message_id": message.message_id, "from": "bot" if message.from_bot else "user",
                                 "kind": message.kind, "text": message.text or "", "edits": message.edits}
        if message.buttons:
            entry["buttons"] = [[label for label, _ in row] for row in message.buttons]
        if message.stars is not None:
            entry["stars"] = message.stars
        if message.upload is not None:
            entry["file"] = {"name": message.upload.filename, "bytes": len(message.upload.data)}
        elif message.media:
            entry["file"] = {"url": message.media}
        out.append(entry)
    return out


def add_control_routes(app: web.Application, api: FakeBotApi) -> None:
    async def read(request: web.Request) -> tuple[int, dict[str, Any]]:
        try:
            body = await request.json()
            return int(body["chat"]), body
        except (ValueError, KeyError, TypeError) as error:
            raise UserActionError('send JSON with a numeric "chat"') from error

    def action(do: Any) -> Any:
        async def handle(request: web.Request) -> web.Response:
            try:
                chat_id, body = await read(request)
                result = await do(chat_id, body)
            except UserActionError as error:
                return web.json_response({"ok": False, "error": str(error)}, status=400)
            return web.json_response({"ok": True, **result})
        return handle

    async def do_say(chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": say(api, chat_id, str(body.get("text", "")), body.get("lang", "ru"))["update_id"]}

    async def do_photo(chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        try:
            data = Path(str(body.get("path", ""))).read_bytes()
        except OSError as error:
            raise UserActionError(f"cannot read {body.get('path')!r}: {error.strerror}") from error
        update = send_photo(api, chat_id, data, str(body.get("caption", "")), body.get("lang", "ru"))
        return {"update_id": update["update_id"]}

    async def do_press(chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": press(api, chat_id, str(body.get("button", "")), body.get("lang", "ru"))["update_id"]}

    async def do_pay(chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return await pay(api, chat_id)

    async def get_chat(request: web.Request) -> web.Response:
        try:
            chat_id = int(request.match_info["chat"])
        except ValueError:
            return web.json_response({"ok": False, "error": "the chat id is a number"}, status=400)
        return web.json_response({"ok": True, "messages": chat_json(api, chat_id)})

    app.router.add_post("/_fake/say", action(do_say))
    app.router.add_post("/_fake/photo", action(do_photo))
    app.router.add_post("/_fake/press", action(do_press))
    app.router.add_post("/_fake/pay", action(do_pay))
    app.router.add_get("/_fake/chat/{chat}", get_chat)
