"""Text messages and the bot itself: getMe, sendMessage, editMessageText, deleteMessage, answerCallbackQuery,
and the methods that are only accepted and recorded (sendChatAction, setMyCommands)."""

from __future__ import annotations

from typing import Any

from adapters.telegram.fake_bot_api.html import parse_text, utf16_length
from adapters.telegram.fake_bot_api.models import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, SentMessage, UploadedFile
from adapters.telegram.fake_bot_api.state import BotState


class MessageMethods(BotState):
    async def _get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _accept(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return True

    async def _send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        source, text, markup = checked_text(params)
        message = SentMessage(chat_id, 0, "text", text=text, html=source, parse_mode=params.get("parse_mode"),
                              reply_markup=markup)
        return self._message_json(self._store(chat_id, message))

    async def _edit_message_text(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: message to edit not found")
        chat_id = self._target_chat(params)
        message = self._messages[chat_id].get(params.get("message_id"))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        if message.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        source, text, markup = checked_text(params)
        if (text, source, markup) == (message.text, message.html, message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        message.text, message.html, message.reply_markup = text, source, markup
        message.parse_mode, message.edits = params.get("parse_mode"), message.edits + 1
        return self._message_json(message)

    async def _answer_callback_query(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        query_id = params.get("callback_query_id")
        if query_id not in self._callbacks:
            raise ApiError(400, QUERY_TOO_OLD)
        self._callbacks.discard(query_id)
        return True

    async def _delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        if self._messages[chat_id].pop(params.get("message_id"), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True


def check_markup(markup: Any) -> dict[str, Any] | None:
    """An inline keyboard as Telegram validates it (text messages and media captions alike)."""
    if markup is None:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            actions = [key for key in ("callback_data", "url", "web_app", "switch_inline_query", "pay") if key in button]
            if len(actions) != 1:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: exactly one field must be set")
            if "callback_data" in button and not 1 <= len(button["callback_data"].encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
                raise ApiError(400, f"Bad Request: inline keyboard button URL '{button['url']}' is invalid")
    return markup


def checked_text(params: dict[str, Any]) -> tuple[Any, str, Any]:
    """The text as sent, as the user sees it, and the keyboard, with Telegram's checks on each."""
    source = params.get("text")
    text = parse_text(source, params.get("parse_mode"))
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_length(text) > 4096:
        raise ApiError(400, "Bad Request: message is too long")
    return source, text, check_markup(params.get("reply_markup"))
