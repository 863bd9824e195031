"""The middleware chain around handlers (core/middleware.py), declared per route (core/routes.py): the user
is loaded, a banned user is refused, an admin-only route refuses everyone else, and the handler behind a
refusal never runs."""

from __future__ import annotations

import pytest

from core.context import Reply
from core.middleware import ADMIN, PAYER, USER, Request, chain, load_user, refuse_banned, require_admin
from core.routes import CALLBACK_ROUTES, COMMAND_ROUTES, EVENT_ROUTES, STALE, UNKNOWN_COMMAND, route
from ports.billing import ManualTopup
from ports.events import CallbackPress, Command, PaymentReceived, PaymentRefunded, UserRef
from tests.harness import running_bot
from tests.test_callbacks import WIRE

ADMIN_USER = 1001  # the harness user
OTHER = 2002
ADMIN_CALLBACKS = {"adm", "bcgo", "bcno", "prc", "mok", "mno"}
ADMIN_COMMANDS = {"status", "admin", "credit", "debit", "block", "unblock", "refund", "markup", "price"}


def test_exactly_the_admin_routes_carry_the_admin_guard():
    assert {r.name for r in CALLBACK_ROUTES.values() if r.admin_only} == ADMIN_CALLBACKS
    assert {name for name, r in COMMAND_ROUTES.items() if r.admin_only} == ADMIN_COMMANDS
    assert not any(r.admin_only for r in (*EVENT_ROUTES.values(), STALE, UNKNOWN_COMMAND))


def test_every_route_loads_the_user_and_only_payments_skip_the_ban_check():
    every = [*CALLBACK_ROUTES.values(), *COMMAND_ROUTES.values(), *EVENT_ROUTES.values(), STALE, UNKNOWN_COMMAND]
    assert all(load_user in r.middlewares for r in every)
    assert [r.name for r in every if refuse_banned not in r.middlewares] == ["payment", "payment_refunded"]
    assert EVENT_ROUTES[PaymentReceived].middlewares == EVENT_ROUTES[PaymentRefunded].middlewares == PAYER
    assert ADMIN == (*USER, require_admin)  # the guard runs on a loaded, not banned user


def _press(user_id: int, data: str) -> CallbackPress:
    return CallbackPress(UserRef(user_id, "ru"), user_id, "q1", data, 1)


async def test_the_guard_answers_a_non_admin_itself_and_the_handler_never_runs(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN_USER,)) as bot:
        ran: list[Request] = []

        async def handler(request: Request) -> Reply:
            ran.append(request)
            return Reply(toast="ran")

        guarded = chain(ADMIN, handler)
        refused = await guarded(Request(bot.app.services, _press(OTHER, "adm:stats"), "adm"))
        assert (ran, refused.rejected, refused.toast) == ([], "UNKNOWN_CALLBACK", "Меню обновилось")
        command = Command(UserRef(OTHER, "ru"), OTHER, "status")
        assert (await guarded(Request(bot.app.services, command, "/status"))).rejected == "UNKNOWN_COMMAND"
        assert ran == []
        allowed = await guarded(Request(bot.app.services, _press(ADMIN_USER, "adm:stats"), "adm"))
        assert allowed.toast == "ran" and len(ran) == 1 and ran[0].turn is not None and ran[0].turn.user.id == ADMIN_USER


@pytest.mark.parametrize("data", [data for data, typed in WIRE if CALLBACK_ROUTES[type(typed)].admin_only])
async def test_every_admin_button_refuses_a_non_admin_as_a_stale_button(tmp_path, data):
    async with running_bot(tmp_path) as bot:  # no ADMIN_ID: the harness user is an ordinary user
        await bot.send("/start")
        outcome = await bot.press_data(data, message_id=1)
        assert (outcome.route, outcome.rejected) == (data.split(":")[0], "UNKNOWN_CALLBACK")
        assert bot.chat.toasts[-1] == "Меню обновилось"
        assert await bot.app.storage.audit.recent() == []


@pytest.mark.parametrize("name", sorted(ADMIN_COMMANDS))
async def test_every_admin_command_refuses_a_non_admin_as_an_unknown_command(tmp_path, name):
    async with running_bot(tmp_path) as bot:
        outcome = await bot.send(f"/{name} 1 2")
        assert (outcome.route, outcome.rejected) == (f"/{name}", "UNKNOWN_COMMAND")
        assert bot.last().text.startswith("Не знаю такой команды")


async def test_a_non_admin_pressing_approve_leaves_the_top_up_pending_and_the_balance_unchanged(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN_USER,), MANUAL_TOPUP_AMOUNTS="500") as bot:
        await bot.app.storage.users.ensure(UserRef(OTHER, "ru"), 0, bot.clock.now())
        topup = ManualTopup("t1", OTHER, 50000, "file-1", "photo", bot.clock.now())
        await bot.app.storage.topups.create(topup)
        other = bot.driver.__class__(bot.app.core, bot.chat, UserRef(OTHER, "ru"))
        await other.send("/start")
        outcome = await bot.app.core.process(_press(OTHER, "mok:t1"))
        assert outcome.rejected == "UNKNOWN_CALLBACK"
        assert await bot.app.storage.ledger.balance(OTHER) == 0
        assert (await bot.app.storage.topups.get("t1")).state.value == "pending"
        approved = await bot.press_data("mok:t1", message_id=1)  # the admin: the handler runs
        assert approved.rejected is None and await bot.app.storage.ledger.balance(OTHER) == 50000


async def test_a_banned_user_is_refused_on_every_route_but_an_admin_is_not(tmp_path):
    async with running_bot(tmp_path, ADMIN_ID=(ADMIN_USER,)) as bot:
        await bot.app.storage.users.ensure(UserRef(OTHER, "ru"), 0, bot.clock.now())
        await bot.app.storage.users.set_banned(OTHER, True)
        for data in ("menu", "cat:image", "adm:stats", "not-a-button"):
            outcome = await bot.app.core.process(_press(OTHER, data))
            assert (outcome.route, outcome.rejected) == ("banned", "BANNED"), data
        outcome = await bot.app.core.process(Command(UserRef(OTHER, "ru"), OTHER, "nope"))
        assert (outcome.route, outcome.rejected) == ("banned", "BANNED")
        await bot.app.storage.users.set_banned(ADMIN_USER, True)
        assert (await bot.press_data("adm:stats", 1)).rejected is None  # an admin is never locked out


def test_routing_gives_the_typed_payload_and_the_stale_route_for_anything_else():
    found, data = route(_press(1, "set:abc:1:2"))
    assert found.name == "set" and data is not None and data.pack() == "set:abc:1:2"
    assert route(_press(1, "set:abc:1")) == (STALE, None)
    assert route(Command(UserRef(1), 1, "nope")) == (UNKNOWN_COMMAND, None)
