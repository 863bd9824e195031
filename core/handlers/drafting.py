"""Choosing a model, giving its inputs, and editing options up to the confirmation screen."""

from __future__ import annotations

from dataclasses import replace

from core import free_tier
from core.callback_data import Confirm, Menu, OpenModel, SetOption, ShowOptions, ShowOptionValues
from core.context import Reply, Services, Turn
from core.drafts import (
    NeedMedia,
    PromptError,
    Ready,
    choices,
    clean_prompt,
    current_options,
    next_step,
    option_at,
    set_option,
    text_length,
)
from core.handlers.navigation import main_menu_screen, shown_balance, stale
from core.views.catalog import PAGE_SIZE, render_ask, render_model_card, render_unavailable
from core.views.common import button
from core.views.order import render_confirmation, render_option_values, render_options
from ports.catalog import ModelSpec
from ports.events import CallbackPress
from ports.screens import Screen
from ports.model import Draft


def message_screen(turn: Turn, text: str, model: ModelSpec | None = None, draft: Draft | None = None) -> Screen:
    """A short notice with the way back (to the model, when there is one) and the menu; when the
    ``draft`` is complete, the way to its order first."""
    menu = button(turn.fmt.t("btn.menu"), Menu())
    row = (button(turn.fmt.t("btn.back"), OpenModel(model.id)), menu) if model else (menu,)
    if model is not None and draft is not None and isinstance(next_step(model, draft), Ready):
        return Screen(text, ((button(turn.fmt.t("btn.to_confirm"), Confirm(draft.id)),), row), "notice")
    return Screen(text, (row,), "notice")


async def confirmation_screen(services: Services, turn: Turn, model: ModelSpec, draft: Draft) -> Screen:
    options = current_options(model, draft)
    balance = await shown_balance(services, turn)
    free = await free_tier.quota(services, turn.user.id, model, turn.now)
    price = 0 if free is not None and free.available else services.price(model, options, text_length(draft))
    offer = await free_tier.offer(services, turn.user.id, turn.now, turn.fmt.language) if price > balance else None
    return render_confirmation(turn.fmt, model, draft, options, price, balance, free, offer)


async def next_screen(services: Services, turn: Turn, model: ModelSpec, draft: Draft, received: str | None = None) -> Screen:
    """The confirmation when every input is there, else the request for the next one."""
    step = next_step(model, draft)
    if isinstance(step, Ready):
        return await confirmation_screen(services, turn, model, draft)
    return render_ask(turn.fmt, model, step, received)


async def open_model(services: Services, turn: Turn, data: OpenModel) -> Reply:
    model = services.catalog.model(data.model)
    # A follow-up (Veo 1080p, …) starts only from a result's button: without its source it cannot run.
    if model is None or not model.enabled or model.source_input is not None:
        return Reply([turn.show(render_unavailable(turn.fmt))], rejected="MODEL_UNAVAILABLE")
    message_id = turn.event.message_id if isinstance(turn.event, CallbackPress) else None
    draft = Draft(services.new_id(), turn.user.id, turn.chat_id, model.id, turn.now, message_id=message_id)
    await services.storage.drafts.put_active(draft)
    balance = await shown_balance(services, turn)
    free = await free_tier.quota(services, turn.user.id, model, turn.now)
    step = next_step(model, draft)
    via_family = len(services.catalog.in_category(model.category)) > PAGE_SIZE
    price_to = services.price_to(model)
    card = render_model_card(turn.fmt, model, services.price_from(model), balance, step, free, price_to, via_family)
    return Reply([turn.show(card)])


async def active_draft(services: Services, turn: Turn) -> tuple[Draft, ModelSpec] | None:
    if turn.user.active_draft_id is None:
        return None
    draft = await services.storage.drafts.get(turn.user.active_draft_id)
    model = services.catalog.model(draft.model_id) if draft else None
    if draft is None or model is None or not model.enabled:
        return None
    return draft, model


async def no_draft(services: Services, turn: Turn) -> Reply:
    screen = await main_menu_screen(services, turn, notice=turn.fmt.t("menu.no_draft"))
    return Reply([turn.send(screen)], rejected="NO_DRAFT")


async def apply_prompt(services: Services, turn: Turn, model: ModelSpec, draft: Draft, text: str) -> Reply:
    prompt_spec = model.prompt
    if prompt_spec is None:
        screen = await confirmation_screen(services, turn, model, draft)
        return Reply([turn.send(message_screen(turn, turn.fmt.t("input.no_prompt_needed"), model)), turn.send(screen)])
    try:
        prompt = clean_prompt(prompt_spec, text)
    except PromptError as error:
        return Reply([turn.send(message_screen(turn, turn.fmt.t(error.key, **error.fields), model))], rejected="VALIDATION_FAIL")
    draft = replace(draft, prompt=prompt)
    await services.storage.drafts.put(draft)
    return Reply([turn.send(await next_screen(services, turn, model, draft))])


async def on_text(services: Services, turn: Turn, text: str) -> Reply:
    found = await active_draft(services, turn)
    if found is None:
        return await no_draft(services, turn)
    draft, model = found
    step = next_step(model, draft)
    if isinstance(step, NeedMedia):  # files come first; a description typed before them is kept
        what = turn.fmt.t(f"media.{step.spec.kind.value}")
        if model.prompt is None:
            notice = turn.fmt.t("input.no_prompt_send_media", what=what)
            return Reply([turn.send(message_screen(turn, notice, model))], rejected="VALIDATION_FAIL")
        return await keep_prompt(services, turn, model, draft, text, what)
    return await apply_prompt(services, turn, model, draft, text)


async def keep_prompt(services: Services, turn: Turn, model: ModelSpec, draft: Draft, text: str, what: str) -> Reply:
    """The description arrived before the file the model needs: store it, ask for the file."""
    assert model.prompt is not None
    try:
        prompt = clean_prompt(model.prompt, text)
    except PromptError as error:
        return Reply([turn.send(message_screen(turn, turn.fmt.t(error.key, **error.fields), model))], rejected="VALIDATION_FAIL")
    await services.storage.drafts.put(replace(draft, prompt=prompt))
    return Reply([turn.send(message_screen(turn, turn.fmt.t("input.prompt_saved", what=what), model))])


async def owned_draft(services: Services, turn: Turn, draft_id: str) -> tuple[Draft, ModelSpec] | None:
    """The draft behind a button, if it is this user's, not launched yet, and its model is on sale."""
    draft = await services.storage.drafts.get(draft_id)
    if draft is None or draft.user_id != turn.user.id:
        return None
    model = services.catalog.model(draft.model_id)
    if model is None or not model.enabled or await services.storage.jobs.get(draft.id) is not None:
        return None
    return draft, model


async def show_options(services: Services, turn: Turn, data: ShowOptions) -> Reply:
    found = await owned_draft(services, turn, data.draft)
    if found is None:
        return await stale(services, turn)
    draft, model = found
    return Reply([turn.show(render_options(turn.fmt, model, draft, current_options(model, draft)))])


async def show_option_values(services: Services, turn: Turn, data: ShowOptionValues) -> Reply:
    found = await owned_draft(services, turn, data.draft)
    index = data.option
    spec = option_at(found[1], index) if found else None
    if found is None or spec is None:
        return await stale(services, turn)
    draft, model = found
    options = current_options(model, draft)
    priced = any(spec.name in rule.when for rule in model.prices) or spec.name == model.quantity_field
    length = text_length(draft)
    prices = [services.price(model, {**options, spec.name: value}, length) for value in choices(spec)] if priced else None
    screen = render_option_values(turn.fmt, draft, index, spec, options.get(spec.name), prices)
    return Reply([turn.show(screen)])


async def change_option(services: Services, turn: Turn, data: SetOption) -> Reply:
    found = await owned_draft(services, turn, data.draft)
    index = data.option
    changed = set_option(found[1], found[0], index, data.value) if found is not None else None
    if found is None or changed is None:
        return await stale(services, turn)
    model = found[1]
    await services.storage.drafts.put(changed)
    spec = model.options[index]
    toast = turn.fmt.t("options.changed", label=turn.fmt.field_label(spec.name), value=turn.fmt.option_value(spec, changed.options[spec.name]))
    return Reply([turn.show(await confirmation_screen(services, turn, model, changed))], toast=toast)


async def confirm(services: Services, turn: Turn, data: Confirm) -> Reply:
    found = await owned_draft(services, turn, data.draft)
    if found is None:
        return await stale(services, turn)
    draft, model = found
    if not isinstance(next_step(model, draft), Ready):
        return await stale(services, turn)
    if turn.user.active_draft_id != draft.id:  # back to this order (from a receipt): a new prompt edits it
        await services.storage.users.set_active_draft(turn.user.id, draft.id)
    return Reply([turn.show(await confirmation_screen(services, turn, model, draft))])
