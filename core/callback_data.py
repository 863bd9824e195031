"""Every button family the bot emits: one declaration each, with its prefix and typed fields in wire order
(core/callbacks.py is the factory). Buttons of every family are in users' chat history for months: never
change a prefix or the order and meaning of its fields; add a family (and its route in core/routes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from core.callbacks import Bytes, CallbackData, Digits

ID = Annotated[str, Bytes(16)]  # a draft, job, top-up or broadcast id (core.context.new_short_id: 10 characters)
MODEL_ID = Annotated[str, Bytes(48)]  # a catalog model id ("elevenlabs/text-to-speech-multilingual-v2": 41)
CATEGORY_ID = Annotated[str, Bytes(16)]
FAMILY_ID = Annotated[str, Bytes(24)]
LANGUAGE = Annotated[str, Bytes(8)]  # a language code; an unknown one is refused by the handler
AMOUNT_DIGITS = 12
AMOUNT = Annotated[int, Digits(AMOUNT_DIGITS)]  # a manual top-up amount, smallest unit (above 6 digits too)
ARGUMENT = Annotated[str, Bytes(48)]  # adm's argument: a user id (19 digits), a page or a model id


# ---- navigation -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Menu(CallbackData, prefix="menu"):
    """``menu`` edits the pressed message into the main menu; ``menu:new`` sends a new one (under a photo)."""

    new: Literal["new"] | None = None


@dataclass(frozen=True)
class OpenCategory(CallbackData, prefix="cat"):
    """``cat:<category>``: popular models and families; ``cat:<category>:<page>``: every model, paged."""

    category: CATEGORY_ID
    page: int | None = None


@dataclass(frozen=True)
class OpenFamily(CallbackData, prefix="fam"):
    category: CATEGORY_ID
    family: FAMILY_ID
    page: int | None = None


@dataclass(frozen=True)
class Help(CallbackData, prefix="help"):
    pass


@dataclass(frozen=True)
class Language(CallbackData, prefix="lang"):
    """``lang``: the choice; ``lang:<code>``: switch."""

    code: LANGUAGE | None = None


@dataclass(frozen=True)
class Noop(CallbackData, prefix="noop"):
    """A label-only button (a page number)."""


# ---- account and payments ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Balance(CallbackData, prefix="balance"):
    pass


@dataclass(frozen=True)
class TopUp(CallbackData, prefix="topup"):
    """``topup[:<draft>]``: started from an order, the receipt leads back to it."""

    draft: ID | None = None


@dataclass(frozen=True)
class History(CallbackData, prefix="history"):
    page: int | None = None


@dataclass(frozen=True)
class BuyStars(CallbackData, prefix="stars"):
    """``stars:<package>[:<draft>]``: send the Stars invoice (for that order)."""

    stars: int
    draft: ID | None = None


@dataclass(frozen=True)
class ManualTopUp(CallbackData, prefix="manual"):
    """The manual top-up: choose an amount."""


@dataclass(frozen=True)
class ManualAmount(CallbackData, prefix="mamt"):
    """Then send a receipt."""

    amount: AMOUNT


@dataclass(frozen=True)
class ApproveTopUp(CallbackData, prefix="mok"):
    """An admin approves a manual top-up."""

    topup: ID


@dataclass(frozen=True)
class RejectTopUp(CallbackData, prefix="mno"):
    topup: ID


@dataclass(frozen=True)
class Invite(CallbackData, prefix="ref"):
    """The invite screen."""


# ---- ordering -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenModel(CallbackData, prefix="model"):
    model: MODEL_ID


@dataclass(frozen=True)
class ShowOptions(CallbackData, prefix="opts"):
    draft: ID


@dataclass(frozen=True)
class ShowOptionValues(CallbackData, prefix="opt"):
    draft: ID
    option: int  # index in the model's options


@dataclass(frozen=True)
class SetOption(CallbackData, prefix="set"):
    draft: ID
    option: int
    value: int  # index in the option's values


@dataclass(frozen=True)
class Confirm(CallbackData, prefix="confirm"):
    draft: ID


@dataclass(frozen=True)
class Launch(CallbackData, prefix="launch"):
    draft: ID


# ---- results ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Again(CallbackData, prefix="again"):
    """A new draft with the job's model, inputs and options."""

    job: ID


@dataclass(frozen=True)
class ResendResult(CallbackData, prefix="res"):
    job: ID


@dataclass(frozen=True)
class Original(CallbackData, prefix="orig"):
    """The job's image files as documents."""

    job: ID


@dataclass(frozen=True)
class FollowUp(CallbackData, prefix="fu"):
    """A follow-up of a delivered result (Veo 1080p, …): its position in the source model's follow_ups."""

    job: ID
    position: int


# ---- admins -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdminAction(CallbackData, prefix="adm"):
    """``adm:<action>[:<argument>]``: the admin panel; the argument is a user id (ban, unban), a page (models)
    or a model id (mt), read by the handler for its action."""

    action: Literal["panel", "stats", "audit", "find", "markup", "bc", "ban", "unban", "models", "mt"]
    argument: ARGUMENT | None = None


@dataclass(frozen=True)
class SendBroadcast(CallbackData, prefix="bcgo"):
    broadcast: ID


@dataclass(frozen=True)
class CancelBroadcast(CallbackData, prefix="bcno"):
    broadcast: ID


@dataclass(frozen=True)
class PriceAction(CallbackData, prefix="prc"):
    """``prc:list | prc:margin | prc:ask:<model> | prc:keep:<model>``: runtime prices."""

    action: Literal["list", "margin", "ask", "keep"]
    model: MODEL_ID | None = None
