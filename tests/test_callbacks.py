"""Typed callback data (core/callbacks.py, core/callback_data.py): every family packs and reads back, fits
Telegram's 64 bytes at its widest, keeps the wire format of the buttons already in users' chats, and has a
route; anything else reads as None (the "menu updated" answer)."""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest

import core.callback_data as declared
from core.callback_data import (
    AdminAction,
    Again,
    ApproveTopUp,
    Balance,
    BuyStars,
    CancelBroadcast,
    Confirm,
    FollowUp,
    Help,
    History,
    Invite,
    Language,
    Launch,
    ManualAmount,
    ManualTopUp,
    Menu,
    Noop,
    OpenCategory,
    OpenFamily,
    OpenModel,
    Original,
    PriceAction,
    RejectTopUp,
    ResendResult,
    SendBroadcast,
    SetOption,
    ShowOptions,
    ShowOptionValues,
    TopUp,
)
from core.callbacks import MAX_CALLBACK_BYTES, Bytes, CallbackData, CallbackDataError, CallbackParser, Field, int_field
from core.routes import CALLBACK_ROUTES, PARSER
from tests.harness import running_bot

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = sorted(
    (value for value in vars(declared).values()
     if inspect.isclass(value) and issubclass(value, CallbackData) and value is not CallbackData),
    key=lambda family: family.prefix,
)

# Payloads as the bot has written them (and as they sit in users' chat history): each keeps its meaning.
WIRE = [
    ("menu", Menu()),
    ("menu:new", Menu("new")),
    ("cat:image", OpenCategory("image")),
    ("cat:image:2", OpenCategory("image", 2)),
    ("fam:video:kling:1", OpenFamily("video", "kling", 1)),
    ("fam:video:kling", OpenFamily("video", "kling")),
    ("help", Help()),
    ("lang", Language()),
    ("lang:en", Language("en")),
    ("noop", Noop()),
    ("balance", Balance()),
    ("topup", TopUp()),
    ("topup:k3x9abcd2m", TopUp("k3x9abcd2m")),
    ("history", History()),
    ("history:3", History(3)),
    ("stars:100", BuyStars(100)),
    ("stars:250:k3x9abcd2m", BuyStars(250, "k3x9abcd2m")),
    ("manual", ManualTopUp()),
    ("mamt:50000", ManualAmount(50000)),
    ("mok:t7", ApproveTopUp("t7")),
    ("mno:t7", RejectTopUp("t7")),
    ("ref", Invite()),
    ("model:kling/v2-1-pro", OpenModel("kling/v2-1-pro")),
    ("opts:k3x9abcd2m", ShowOptions("k3x9abcd2m")),
    ("opt:k3x9abcd2m:1", ShowOptionValues("k3x9abcd2m", 1)),
    ("set:k3x9abcd2m:1:0", SetOption("k3x9abcd2m", 1, 0)),
    ("confirm:k3x9abcd2m", Confirm("k3x9abcd2m")),
    ("launch:k3x9abcd2m", Launch("k3x9abcd2m")),
    ("again:k3x9abcd2m", Again("k3x9abcd2m")),
    ("res:k3x9abcd2m", ResendResult("k3x9abcd2m")),
    ("orig:k3x9abcd2m", Original("k3x9abcd2m")),
    ("fu:k3x9abcd2m:0", FollowUp("k3x9abcd2m", 0)),
    ("adm:panel", AdminAction("panel")),
    ("adm:ban:9007199254740991", AdminAction("ban", "9007199254740991")),
    ("adm:models:2", AdminAction("models", "2")),
    ("adm:mt:kling/v2-1-pro", AdminAction("mt", "kling/v2-1-pro")),
    ("bcgo:b1", SendBroadcast("b1")),
    ("bcno:b1", CancelBroadcast("b1")),
    ("prc:list", PriceAction("list")),
    ("prc:keep:kling/v2-1-pro", PriceAction("keep", "kling/v2-1-pro")),
]


# ---- the wire format ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, typed", WIRE, ids=[data for data, _ in WIRE])
def test_a_payload_already_in_chat_history_reads_as_before_and_packs_back_the_same(data, typed):
    assert PARSER.parse(data) == typed
    assert typed.pack() == data


def test_every_family_has_a_wire_example_above():
    assert {type(typed) for _, typed in WIRE} == set(FAMILIES)


def test_packing_joins_prefix_and_fields_with_colons():
    assert SetOption("abc", 1, 2).pack() == "set:abc:1:2"


def test_the_old_runbook_payload_cat_image_is_understood():
    assert PARSER.parse("cat:image") == OpenCategory("image")


@pytest.mark.parametrize(
    "data",
    ["", "unknown:1", "launch", "launch:a:b", "set:a:1", "model:", "x" * 65, "cat:image:1:2", "::", "menu:new:x",
     "menu:x", "adm", "adm:nope", "adm:ban:", "prc:ask:", "prc:drop:m", "set:a:1:-1", "set:a:1:1.0", "fu:j",
     "history:x", "stars:1e3", "model:" + "x" * 58, "model:" + "x" * 49, "topup:google/nano-banana",
     "fam:video:" + "f" * 25, "cat:" + "c" * 17, "bot_kie:old:button", "MENU", "\x00", "menu\x00"],
)
def test_unknown_or_malformed_data_reads_as_none(data):
    assert PARSER.parse(data) is None


# ---- building a button ---------------------------------------------------------------------------------------
def test_a_field_wider_than_declared_fails_when_the_button_is_built():
    with pytest.raises(CallbackDataError, match="bytes"):
        OpenModel("x" * MAX_CALLBACK_BYTES).pack()


def test_multibyte_characters_count_as_bytes_not_characters():
    OpenModel("я" * 24).pack()  # 48 bytes: the most a model id may take
    with pytest.raises(CallbackDataError):
        OpenModel("я" * 25).pack()


@pytest.mark.parametrize("typed", [OpenModel("a:b"), OpenModel(""), Launch(None), SetOption("d", -1, 0),
                                   SetOption("d", True, 0), History(1_000_000), AdminAction("nope")])
def test_a_value_the_family_cannot_carry_is_refused_at_packing(typed):
    with pytest.raises(CallbackDataError):
        typed.pack()


def test_a_manual_amount_above_six_digits_is_built_and_read_back():
    assert PARSER.parse(ManualAmount(5_000_000).pack()) == ManualAmount(5_000_000)


@dataclass(frozen=True)
class Wide(CallbackData, prefix="wide"):
    a: Annotated[str, Bytes(40)]
    b: Annotated[str, Bytes(40)]


def test_a_payload_over_64_bytes_fails_at_packing_and_its_family_is_refused_by_the_parser():
    Wide("x", "y").pack()
    with pytest.raises(CallbackDataError, match="64 bytes"):
        Wide("x" * 40, "y" * 40).pack()
    with pytest.raises(TypeError, match="64 bytes"):
        CallbackParser([Wide])


def test_two_families_with_one_prefix_are_refused():
    @dataclass(frozen=True)
    class Twin(CallbackData, prefix="launch"):
        draft: Annotated[str, Bytes(8)]

    with pytest.raises(TypeError, match="share"):
        CallbackParser([Launch, Twin])


def test_declaration_mistakes_are_refused():
    @dataclass(frozen=True)
    class Unbounded(CallbackData, prefix="u1"):
        text: str  # no Bytes(n): its width is unknown

    @dataclass(frozen=True)
    class OptionalFirst(CallbackData, prefix="u2"):
        page: int | None = None
        draft: Annotated[str, Bytes(8)] = "x"

    @dataclass
    class Mutable(CallbackData, prefix="u3"):
        page: int

    for family in (Unbounded, OptionalFirst, Mutable):
        with pytest.raises(TypeError):
            family.fields()
    with pytest.raises(TypeError, match="prefix"):
        type("Bad", (CallbackData,), {}, prefix="a:b")


# ---- every family ------------------------------------------------------------------------------------------------
def _value(field: Field, widest: bool) -> int | str:
    if field.kind is int:
        return 10**field.most - 1 if widest else 0
    if field.choices:
        return field.widest() if widest else field.choices[0]
    return "я" * (field.most // 2) + "x" * (field.most % 2) if widest else "a"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.__name__)
def test_every_family_packs_and_reads_back_its_typed_fields(family):
    fields = family.fields()
    widest = family(**{f.name: _value(f, widest=True) for f in fields})
    narrowest = family(**{f.name: _value(f, widest=False) for f in fields if not f.optional})
    for typed in (widest, narrowest):
        data = typed.pack()
        assert PARSER.parse(data) == typed
        assert family.unpack(data) == typed
        assert all(type(getattr(typed, f.name)) is f.kind for f in fields if getattr(typed, f.name) is not None)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.__name__)
def test_every_family_fits_64_bytes_with_every_field_at_its_widest(family):
    assert len(family.widest().encode("utf-8")) <= MAX_CALLBACK_BYTES
    fields = family.fields()
    widest = family(**{f.name: _value(f, widest=True) for f in fields})
    assert len(widest.pack().encode("utf-8")) <= MAX_CALLBACK_BYTES


def test_the_routing_table_covers_exactly_the_declared_families():
    assert set(CALLBACK_ROUTES) == set(FAMILIES)
    assert {route.name for route in CALLBACK_ROUTES.values()} == {family.prefix for family in FAMILIES}


def _families_built_in(path: Path) -> set[str]:
    names = {family.__name__ for family in FAMILIES}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.func.id for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names}


def test_every_family_a_screen_builds_is_routed_and_every_routed_family_is_built_somewhere():
    built = set().union(*(_families_built_in(path) for path in (ROOT / "core").rglob("*.py")
                          if path.name not in ("callback_data.py", "routes.py")))
    routed = {family.__name__ for family in CALLBACK_ROUTES}
    assert built == routed


# ---- integer fields --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [("0", 0), ("7", 7), ("42", 42), ("999999", 999999)])
def test_an_integer_field_written_as_pack_writes_it_reads_back(value, expected):
    assert int_field(value) == expected
    assert str(int_field(value)) == value  # round trip: the number packs back to the same text


@pytest.mark.parametrize(
    "value", ["", "²", "①", "1²", "٣", "１２", "007", "00", "+1", "-1", " 1", "1 ", "1_000", "1000000", "0x1", "1.0"]
)
def test_an_integer_field_that_does_not_round_trip_exactly_is_refused(value):
    assert int_field(value) is None


@pytest.mark.parametrize("data", ["history:²", "cat:image:①", "opt:abc:²", "set:abc:1:①", "stars:٣", "mamt:00500", "history:01"])
async def test_callback_data_with_odd_digits_gets_the_menu_updated_answer(tmp_path, data):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        outcome = await bot.press_data(data, message_id=1)
        assert outcome.rejected == "UNKNOWN_CALLBACK"
        assert bot.chat.toasts[-1] == "Меню обновилось"


async def test_a_literal_field_refuses_a_value_it_does_not_list(tmp_path):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        for data in ("menu:old", "adm:drop", "prc:drop:x"):
            outcome = await bot.press_data(data, message_id=1)
            assert (outcome.route, outcome.rejected) == ("stale", "UNKNOWN_CALLBACK"), data


@pytest.mark.parametrize("data", ["topup:google/nano-banana", "stars:100:" + "d" * 17, "confirm:" + "d" * 17])
async def test_a_foreign_payload_with_an_id_too_long_to_echo_gets_the_menu_updated_answer(tmp_path, data):
    """A handler puts the payload's id into the buttons it shows: one it could not pack again is refused when
    read (the webhook fuzz found ``topup:<model id>`` crashing the top-up screen's Stars buttons)."""
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        outcome = await bot.press_data(data, message_id=1)
        assert (outcome.route, outcome.rejected) == ("stale", "UNKNOWN_CALLBACK")


def test_whatever_is_read_packs_back_to_the_same_text():
    """Over the webhook fuzzer's payloads (known prefixes with odd fields, junk): a payload the parser accepts is
    exactly what packing its typed value writes, so nothing read can fail to be packed again."""
    from tests.fuzz_updates import FuzzUpdates

    fuzz = FuzzUpdates(seed=14)
    read = 0
    for _ in range(20_000):
        data = fuzz.callback_data()
        typed = PARSER.parse(data)
        if typed is not None:
            read += 1
            assert typed.pack() == data
    assert read > 1_000  # the property was exercised, not vacuous


def test_a_family_routed_twice_is_refused():
    from core.handlers import launching
    from core.routes import by_family, on_press

    with pytest.raises(TypeError, match="twice"):
        by_family(on_press(Launch, launching.launch), on_press(Launch, launching.launch))
