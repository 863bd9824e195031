"""A simulated Telegram user doing the runbook's journey over the webhook: /start → 🎨 Картинки и дизайн →
Z-Image → a prompt → 🚀 Запустить → the picture. Each step posts one update the way Telegram would (the
callback query registered with the fake Bot API first), then waits for the screen it leads to, as a person
waits before the next tap. Timings go to a Recorder: the ack of every post, the time from each update to
the first Bot API call the bot made for that chat afterwards, and from the launch to the picture.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import aiohttp

from bench.common import SECRET_HEADER, SECRET_PATH, SECRET_TOKEN, TimedBotApi
from entrypoints.smoke_checks import user_json

CATEGORY = "Картинки и дизайн"
MODEL = "Z-Image"
LAUNCH = "Запустить"
MEDIA_METHODS = ("sendphoto", "senddocument")

Post = Callable[[dict[str, Any]], Awaitable[int]]  # posts one update; its final HTTP status

# Update ids above Telegram's range of the fakes' own, distinct within a run (the counter starts from the clock).
_ids = itertools.count(2_000_000_000 + int(time.time() * 1000) % 10**9)


def _sender(user: int, update_id: int, tag: bool) -> dict[str, Any]:
    """The ``from`` of an update. ``tag``: first_name "n<update_id>", so that the main menu the update leads to
    ("👋 Привет, n123!") names the update it answers (users.ensure refreshes the stored name each time)."""
    sender = user_json(user)
    if tag:
        sender["first_name"] = f"n{update_id}"
    return sender


def text_update(user: int, text: str, tag: bool = False) -> dict[str, Any]:
    update_id = next(_ids)
    message = {"message_id": update_id % 10**6, "date": int(time.time()), "text": text,
               "chat": {"id": user, "type": "private"}, "from": _sender(user, update_id, tag)}
    return {"update_id": update_id, "message": message}


def press_update(user: int, data: str, message_id: int, tag: bool = False) -> dict[str, Any]:
    update_id = next(_ids)
    query = {"id": f"cb{update_id}", "from": _sender(user, update_id, tag), "chat_instance": "1", "data": data,
             "message": {"message_id": message_id, "date": int(time.time()), "chat": {"id": user, "type": "private"}}}
    return {"update_id": update_id, "callback_query": query}


@dataclass
class Recorder:
    ack_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    result_ms: list[float] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)  # every update acknowledged with 200
    statuses: dict[int, int] = field(default_factory=dict)
    journeys: int = 0
    stuck: dict[str, int] = field(default_factory=dict)  # step → journeys abandoned there


def direct_poster(http: aiohttp.ClientSession, port: int, recorder: Recorder) -> Post:
    """Posts to one instance, once (no retries), recording the ack time."""
    url = f"http://127.0.0.1:{port}/webhook/{SECRET_PATH}"
    headers = {SECRET_HEADER: SECRET_TOKEN, "Content-Type": "application/json"}

    async def post(update: dict[str, Any]) -> int:
        body = json.dumps(update).encode()
        started = time.perf_counter()
        try:
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        recorder.ack_ms.append((time.perf_counter() - started) * 1000)
        recorder.statuses[status] = recorder.statuses.get(status, 0) + 1
        if status == 200:
            recorder.posted.append(update)
        return status

    return post


def buttons_of(message: Any) -> list[tuple[str, str]]:
    return [pair for row in message.buttons for pair in row] if message is not None else []


def has_button(api: TimedBotApi, user: int, label: str) -> bool:
    return any(label in text for text, _ in buttons_of(api.newest_with_buttons(user)))


def media_with(api: TimedBotApi, user: int, prompt: str) -> float | None:
    """Arrival time of the picture whose caption carries «prompt», if it came."""
    quoted = f"«{prompt}»"
    return next((event.at for event in api.by_chat.get(user, ())
                 if event.method in MEDIA_METHODS and event.text and quoted in event.text), None)


class User:
    def __init__(self, api: TimedBotApi, post: Post, recorder: Recorder, user_id: int, timeout: float,
                 tag: bool = False) -> None:
        self.api, self.post, self.recorder, self.id, self.timeout = api, post, recorder, user_id, timeout
        self.tag = tag

    async def _step(self, update: dict[str, Any], ready: Callable[[], Any], name: str) -> bool:
        if "callback_query" in update:
            self.api.register_update(update)
        started = time.perf_counter()
        if await self.post(update) != 200:
            self.recorder.stuck[name] = self.recorder.stuck.get(name, 0) + 1
            return False
        answered = await self.api.wait_until(
            self.id, lambda: self.api.first_reply_after(self.id, started) is not None and ready(), self.timeout
        )
        first = self.api.first_reply_after(self.id, started)
        if first is not None:
            self.recorder.reply_ms.append((first - started) * 1000)
        if not answered:
            self.recorder.stuck[name] = self.recorder.stuck.get(name, 0) + 1
        return bool(answered)

    async def _press(self, label: str, ready: Callable[[], Any], name: str) -> bool:
        message = self.api.newest_with_buttons(self.id)
        data = next((d for text, d in buttons_of(message) if label in text), None)
        if message is None or data is None:
            self.recorder.stuck[name] = self.recorder.stuck.get(name, 0) + 1
            return False
        return await self._step(press_update(self.id, data, message.message_id, self.tag), ready, name)

    async def to_launch_screen(self, prompt: str) -> bool:
        """/start → category → model → prompt, up to the order's confirmation with its launch button; False when a
        step got no answer within the timeout."""
        api, user = self.api, self.id
        if not await self._step(text_update(user, "/start", self.tag), lambda: has_button(api, user, CATEGORY), "start"):
            return False
        if not await self._press(CATEGORY, lambda: has_button(api, user, MODEL), "category"):
            return False
        if not await self._press(MODEL, lambda: "✍️" in ((api.newest_with_buttons(user) or _NONE).text or ""), "model"):
            return False

        def confirmation() -> bool:
            message = api.newest_with_buttons(user)
            return message is not None and f"«{prompt}»" in (message.text or "") and has_button(api, user, LAUNCH)

        return await self._step(text_update(user, prompt, self.tag), confirmation, "prompt")

    async def journey(self, prompt: str) -> bool:
        """One journey; False when a step got no answer within the timeout (the journey is abandoned)."""
        api, user = self.api, self.id
        if not await self.to_launch_screen(prompt):
            return False
        launched = time.perf_counter()
        if not await self._press(LAUNCH, lambda: media_with(api, user, prompt), "launch"):
            return False
        arrived = media_with(api, user, prompt)
        if arrived is not None:
            self.recorder.result_ms.append((arrived - launched) * 1000)
        self.recorder.journeys += 1
        return True


class _None:
    text = ""


_NONE = _None()
