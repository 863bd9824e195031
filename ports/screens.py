"""What the bot shows: a screen is text plus an inline keyboard, as plain data.

Screens are built by pure ``render_*`` functions in ``core/`` and compared with ``==`` in tests.
The text is plain (never markup); the Telegram messenger escapes it for HTML.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    """One inline button: either callback ``data`` (1..64 bytes) or an ``url``."""

    label: str
    data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Screen:
    text: str
    keyboard: Keyboard = ()
    # A stable name for telemetry (UI_RENDER screen_id=...); not shown to users.
    screen_id: str = ""

    def buttons(self) -> tuple[Button, ...]:
        return tuple(button for row in self.keyboard for button in row)
