"""The one codec for inline-button callback data: ``tag:field:field`` (as aiogram does).

Encoding checks Telegram's 64-byte limit when the button is built, so an oversized payload fails in a
unit test, not at Telegram. Old buttons stay in chat history for months: add new tags, never change
the meaning of an old one; an unknown or stale payload is answered with a "menu updated" screen.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
SEPARATOR = ":"

# Every tag the bot emits, with the number of fields it carries (min, max).
TAGS: dict[str, tuple[int, int]] = {
    "menu": (0, 1),  # menu | menu:new (send a new message instead of editing)
    "cat": (1, 2),  # cat:<category> (popular + families) | cat:<category>:<page> (every model, paged)
    "fam": (2, 3),  # fam:<category>:<family>[:<page>]: the family's models
    "model": (1, 1),  # model:<kie model id>
    "opts": (1, 1),  # opts:<draft>: the option list
    "opt": (2, 2),  # opt:<draft>:<option index>: its values
    "set": (3, 3),  # set:<draft>:<option index>:<value index>
    "confirm": (1, 1),  # confirm:<draft>
    "launch": (1, 1),  # launch:<draft>
    "again": (1, 1),  # again:<job>: a new draft with the job's model, inputs and options
    "balance": (0, 0),
    "topup": (0, 1),  # topup[:<draft>]: started from an order, the receipt leads back to it
    "history": (0, 1),  # history[:<page>]
    "help": (0, 0),
    "lang": (0, 1),  # lang | lang:<code>
    "noop": (0, 0),  # a label-only button (page number)
    "stars": (1, 2),  # stars:<package>[:<draft>]: send the Stars invoice (for that order)
    "manual": (0, 0),  # manual top-up: choose an amount
    "mamt": (1, 1),  # mamt:<amount>: then send a receipt
    "mok": (1, 1),  # mok:<top-up id>: an admin approves
    "mno": (1, 1),  # mno:<top-up id>: an admin rejects
    "ref": (0, 0),  # the invite screen
    "res": (1, 1),  # res:<job>: send the job's result again
    "adm": (1, 2),  # adm:<action>[:<argument>]: the admin panel
    "bcgo": (1, 1),  # bcgo:<broadcast>: confirm and send
    "bcno": (1, 1),  # bcno:<broadcast>: cancel the draft
    "orig": (1, 1),  # orig:<job>: the job's image files as documents (the originals)
    "prc": (1, 2),  # prc:list | prc:margin | prc:ask:<model> | prc:keep:<model>: runtime prices (admins)
    "fu": (2, 2),  # fu:<job>:<position>: a follow-up of a delivered result (Veo 1080p, …)
}


class CallbackDataError(ValueError):
    pass


@dataclass(frozen=True)
class CallbackData:
    tag: str
    fields: tuple[str, ...] = ()


def encode(tag: str, *fields: object) -> str:
    if tag not in TAGS:
        raise CallbackDataError(f"unknown callback tag {tag!r}")
    low, high = TAGS[tag]
    if not low <= len(fields) <= high:
        raise CallbackDataError(f"{tag!r} takes {low}..{high} fields, got {len(fields)}")
    parts = [str(field) for field in fields]
    for part in parts:
        if not part or SEPARATOR in part:
            raise CallbackDataError(f"callback field {part!r} is empty or contains {SEPARATOR!r}")
    data = SEPARATOR.join([tag, *parts])
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise CallbackDataError(f"callback data {data!r} exceeds {MAX_CALLBACK_BYTES} bytes")
    return data


def decode(data: str) -> CallbackData | None:
    """The payload, or None when it is not one this bot knows (stale, foreign or malformed)."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    tag, *fields = data.split(SEPARATOR)
    bounds = TAGS.get(tag)
    if bounds is None or not bounds[0] <= len(fields) <= bounds[1] or any(not f for f in fields):
        return None
    return CallbackData(tag, tuple(fields))


def int_field(value: str) -> int | None:
    """A non-negative integer field written exactly as ``encode`` writes one (1 to 6 ASCII digits, no leading
    zero), or None. ``str.isdigit`` alone also accepts "²" and "①", which ``int`` refuses."""
    if not 0 < len(value) <= 6 or not value.isascii() or not value.isdigit():
        return None
    return int(value) if value == "0" or value[0] != "0" else None
