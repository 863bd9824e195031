"""A whole bot for tests: the real core, JSON storage in a temporary directory, the fake generator on a
virtual clock (no real sleeping), and the simulator's chat and driver as the transport."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import AsyncIterator

from adapters.kie import fake_media
from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from core.bot import Outcome
from entrypoints.settings import load_settings
from entrypoints.simulator_chat import ChatMessage, SimulatedChat
from entrypoints.simulator_driver import SimulatorDriver
from entrypoints.wiring import App, build_app
from ports.events import CallbackPress, UserRef


@dataclass
class Bot:
    app: App
    chat: SimulatedChat
    driver: SimulatorDriver
    clock: VirtualClock
    files: Path
    printed: list[str] = field(default_factory=list)

    @property
    def user_id(self) -> int:
        return self.driver.user.id

    async def send(self, line: str) -> Outcome:
        return await self.driver.send(line)

    async def press(self, label_part: str) -> Outcome:
        """Press the button whose label contains ``label_part`` on the focused message."""
        message = self.chat.focused()
        assert message is not None, "no message with buttons"
        labels = [button.label for button in message.buttons()]
        matches = [i for i, label in enumerate(labels, 1) if label_part in label]
        assert matches, f"no button with {label_part!r} among {labels}"
        return await self.driver.send(str(matches[0]))

    async def open_model(self, category: str, name: str) -> None:
        """/start → the category → every model page by page (a long category opens on its families) → the model
        whose button reads ``name`` (the part before " · price")."""
        await self.send("/start")
        await self.press(category)
        if any(b.data and b.data.startswith("cat:") and b.data.count(":") == 2 for b in self.chat.focused().buttons()):
            await self.press("📋")  # a long category: its full list
        for _ in range(20):
            labels = [button.label.split(" · ")[0] for button in self.chat.focused().buttons()]
            if name in labels:
                await self.driver.send(str(labels.index(name) + 1))
                return
            await self.press("▶️")
        raise AssertionError(f"{name} not found in {category}")

    async def press_data(self, data: str, message_id: int | None = None) -> Outcome:
        event = CallbackPress(self.driver.user, self.user_id, f"t-{len(self.chat.effects)}", data, message_id)
        return await self.app.core.process(event)

    async def settle(self) -> None:
        """Let every running job finish (virtual time runs on while they poll)."""
        await self.app.runner.wait_idle()

    async def balance(self) -> int:
        return await self.app.storage.ledger.balance(self.user_id)

    def last(self) -> ChatMessage:
        message = self.chat.last()
        assert message is not None
        return message

    def screen_text(self) -> str:
        message = self.chat.focused() or self.chat.last()
        assert message is not None
        return message.text

    def write_photo(self, name: str = "photo.png") -> Path:
        return fake_media.write_png(self.files / name, name)

    def write_audio(self, name: str = "voice.wav") -> Path:
        return fake_media.write_wav(self.files / name, name)

    def write_video(self, name: str = "clip.mp4") -> Path:
        return fake_media.write_video(self.files / name)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    balance: str = "100",
    language: str = "ru",
    user_id: int = 1001,
    clock: VirtualClock | None = None,  # shared with a fake KIE server when KIE_MODE is real
    **settings: object,
) -> AsyncIterator[Bot]:
    settings.setdefault("FREE_DAILY_LIMIT", 0)  # most tests pay for Z-Image; the free-tier tests turn it on
    config = load_settings({}, DATA_DIR=tmp_path / "data", WELCOME_BALANCE=Decimal(balance), **settings)
    clock = clock or VirtualClock()
    printed: list[str] = []
    chat = SimulatedChat(output=printed.append)
    async with build_app(config, messenger=chat, media=LocalFileReader(), clock=clock) as app:
        user = UserRef(user_id, language_code=language, first_name="Tester")
        files = tmp_path / "inputs"
        files.mkdir(exist_ok=True)
        yield Bot(app, chat, SimulatorDriver(app.core, chat, user), clock, files, printed)
