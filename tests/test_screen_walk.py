"""A walk over every screen a user can reach (every category page, every model's card, every
confirmation, option list and option value of the shipped catalog): every button decodes, fits
Telegram's 64 bytes, is routed, and pressing it never falls through to the "menu updated" answer."""

from __future__ import annotations

from collections import deque

import pytest

from core.callbacks import MAX_CALLBACK_BYTES
from core.routes import CALLBACK_ROUTES, PARSER
from ports.effects import EditScreen, SendMedia, SendScreen
from ports.screens import Button
from tests.harness import running_bot

# Launching charges and runs jobs; it is covered by the conversation tests. Everything else is walked.
NOT_WALKED = ("launch:", "again:", "noop")
MAX_BUTTONS = 100  # Telegram's inline keyboard limit
MAX_TEXT = 4096  # Telegram's message limit


def screens_of(effects):
    for effect in effects:
        if isinstance(effect, (SendScreen, EditScreen)):
            yield effect.screen.screen_id, effect.screen.keyboard, effect.screen.text
        elif isinstance(effect, SendMedia):
            yield "media", effect.keyboard, effect.caption


async def fill_inputs(bot) -> None:
    """Answer whatever the current screen asks for until the order is complete (or nothing is asked)."""
    for _ in range(6):
        screen = next(e.screen.text for e in reversed(bot.chat.effects) if isinstance(e, (SendScreen, EditScreen)))
        text = screen.splitlines()[-1]  # the request for the next input is the last line
        if "📎" in text and ("фото" in text or "photo" in text):
            await bot.send(f"/photo {bot.write_photo()}")
        elif "📎" in text and ("видео" in text or "video" in text):
            await bot.send(f"/video {bot.write_video()}")
        elif "📎" in text and ("аудио" in text or "audio" in text):
            await bot.send(f"/audio {bot.write_audio()}")
        elif "✍️" in text:
            await bot.send("a red fox in the snow")
        else:
            return


@pytest.mark.slow
async def test_every_reachable_button_decodes_fits_and_is_answered(tmp_path):
    async with running_bot(tmp_path, balance="100000") as bot:
        outcome = await bot.send("/start")
        queue: deque[Button] = deque()
        seen_data: set[str] = set()
        seen_screens: set[str] = set()
        checked = 0

        def enqueue(effects) -> None:
            for screen_id, keyboard, text in screens_of(effects):
                seen_screens.add(screen_id)
                assert sum(len(row) for row in keyboard) <= MAX_BUTTONS, f"{screen_id}: too many buttons"
                assert len(text) <= MAX_TEXT, f"{screen_id}: {len(text)} characters"
                for row in keyboard:
                    for button in row:
                        assert button.data is not None, f"{button.label}: link buttons are not expected here"
                        assert len(button.data.encode()) <= MAX_CALLBACK_BYTES, button.data
                        typed = PARSER.parse(button.data)
                        assert typed is not None and type(typed) in CALLBACK_ROUTES, button.data
                        assert typed.pack() == button.data
                        if button.data not in seen_data:
                            seen_data.add(button.data)
                            queue.append(button)

        enqueue(outcome.effects)
        while queue:
            button = queue.popleft()
            if button.data.startswith(NOT_WALKED):
                continue
            before = len(bot.chat.effects)
            outcome = await bot.press_data(button.data, message_id=1)
            assert outcome.rejected is None, f"{button.label} ({button.data}) was rejected: {outcome.rejected}"
            checked += 1
            if button.data.startswith("model:"):
                await fill_inputs(bot)
            enqueue(bot.chat.effects[before:])
        # disabled ones are not reachable; follow-ups only from a result
        models = len([m for m in bot.app.catalog.models if m.enabled and m.source_input is None])
        assert {"main_menu", "model_selection", "model_card", "confirmation", "options", "option_values",
                "balance", "topup", "history", "help", "language"} <= seen_screens
        assert len([d for d in seen_data if d.startswith("model:")]) == models
        assert len([d for d in seen_data if d.startswith("launch:")]) == models  # every model reaches its order
        assert checked > 4 * models
