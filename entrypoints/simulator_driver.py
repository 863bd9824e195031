"""The layer under the terminal UI: turns typed lines into the same events Telegram would deliver and
hands them to the core. Tests drive it directly, without prompt-toolkit."""

from __future__ import annotations

import itertools
import mimetypes
from pathlib import Path

from core.bot import BotCore, Outcome
from entrypoints.simulator_chat import SimulatedChat
from ports.events import (
    CallbackPress,
    Command,
    Event,
    MediaMessage,
    PaymentReceived,
    PreCheckout,
    TextMessage,
    UserRef,
)
from ports.media import MediaKind, MediaRef

FILE_COMMANDS = {
    "photo": MediaKind.PHOTO,
    "video": MediaKind.VIDEO,
    "audio": MediaKind.AUDIO,
    "voice": MediaKind.VOICE,
    "file": MediaKind.DOCUMENT,
}

HELP = (
    "Type a number to press a button of the last message with buttons, any other text (or a number no\n"
    "button has) to send it.\n"
    "/photo PATH, /video PATH, /audio PATH, /voice PATH, /file PATH send a file (a caption may follow the path\n"
    "after ' | '). /pay pays the last Stars invoice. Bot commands: /start /help /balance /cancel /language.\n"
    "/quit leaves."
)


class SimulatorError(ValueError):
    """The typed line cannot be turned into an event (no such button, no such file)."""


class SimulatorDriver:
    def __init__(self, core: BotCore, chat: SimulatedChat, user: UserRef) -> None:
        self.core = core
        self.chat = chat
        self.user = user
        self._callback_ids = itertools.count(1)

    async def send(self, line: str) -> Outcome:
        """One typed line: a button number, a file command, /pay, a bot command or text."""
        if line.strip() == "/pay":
            return await self.pay()
        return await self.core.process(self.parse(line.strip()))

    async def pay(self) -> Outcome:
        """Pay the last invoice as Telegram would: a pre-checkout query, then (if accepted) the payment."""
        if not self.chat.invoices:
            raise SimulatorError("no invoice to pay: open the balance and choose a Stars package first")
        invoice = self.chat.invoices[-1]
        number = next(self._callback_ids)
        query = PreCheckout(self.user, self.user.id, f"sim-pcq-{number}", "XTR", invoice.stars, invoice.payload)
        outcome = await self.core.process(query)
        if not self.chat.pre_checkout_answers or not self.chat.pre_checkout_answers[-1].ok:
            return outcome
        charge = f"sim-charge-{self.user.id}-{number}"
        paid = PaymentReceived(self.user, self.user.id, "XTR", invoice.stars, invoice.payload, charge)
        return await self.core.process(paid)

    def parse(self, line: str) -> Event:
        if line.isdigit() and self._is_button(int(line)):
            return self.press_event(int(line))
        if line.startswith("/"):
            name, _, args = line[1:].partition(" ")
            name = name.split("@", 1)[0].lower()
            if name in FILE_COMMANDS:
                return self.file_event(FILE_COMMANDS[name], args)
            return Command(self.user, self.user.id, name, args.strip())
        return TextMessage(self.user, self.user.id, line)

    def _is_button(self, number: int) -> bool:
        """A number presses a button when there is one with it; otherwise it is text (a user id, an amount)."""
        message = self.chat.focused()
        return message is not None and 1 <= number <= len(message.buttons())

    def press_event(self, number: int) -> CallbackPress:
        message = self.chat.focused()
        buttons = message.buttons() if message else ()
        if not 1 <= number <= len(buttons):
            raise SimulatorError(f"no button [{number}] on the last message with buttons")
        button = buttons[number - 1]
        if button.data is None:
            raise SimulatorError(f"button [{number}] opens a link: {button.url}")
        assert message is not None
        return CallbackPress(self.user, self.user.id, f"sim-{next(self._callback_ids)}", button.data, message.id)

    def file_event(self, kind: MediaKind, args: str) -> MediaMessage:
        path_text, _, caption = args.partition(" | ")
        path = Path(path_text.strip()).expanduser()
        if not path_text.strip() or not path.is_file():
            raise SimulatorError(f"no such file: {path_text.strip() or '(none given)'}")
        mime, _ = mimetypes.guess_type(path.name)
        ref = MediaRef(kind, str(path.resolve()), path.stat().st_size, mime, path.name)
        return MediaMessage(self.user, self.user.id, ref, caption.strip())
