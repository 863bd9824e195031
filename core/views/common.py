"""Building blocks shared by every screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.callback_data import Menu, OpenModel
from core.callbacks import CallbackData
from core.i18n import Fmt
from ports.screens import Button

if TYPE_CHECKING:
    from core.free_tier import FreeOffer, FreeQuota
    from ports.screens import Keyboard


def button(label: str, data: CallbackData) -> Button:
    """A callback button; packing checks the fields and the 64-byte limit here, when the screen is built."""
    return Button(label, data.pack())


def menu_button(fmt: Fmt, new_message: bool = False) -> Button:
    return button(fmt.t("btn.menu"), Menu("new")) if new_message else button(fmt.t("btn.menu"), Menu())


def lines(*parts: str | None) -> str:
    """Join the parts with newlines, skipping None ("" gives a blank line)."""
    return "\n".join(part for part in parts if part is not None)


def free_line(fmt: Fmt, free: "FreeQuota | None") -> str | None:
    """The free tier's line on the card and the confirmation (None: not a free model)."""
    if free is None:
        return None
    if free.unlimited:
        return fmt.t("free.unlimited")
    if free.left > 0:
        return fmt.t("free.left", left=free.left, limit=free.limit)
    return fmt.t("free.none", limit=free.limit)


def free_offer_line(fmt: Fmt, offer: "FreeOffer | None") -> str | None:
    """Told to a user who cannot pay: a free model they can still run today."""
    if offer is None:
        return None
    return fmt.t("order.free_offer", name=offer.name, left=offer.left, limit=offer.limit)


def free_offer_rows(fmt: Fmt, offer: "FreeOffer | None") -> "Keyboard":
    return ((button(fmt.t("btn.free_model", name=offer.name), OpenModel(offer.model_id)),),) if offer else ()
