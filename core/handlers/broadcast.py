"""Broadcasts: the admin sends a text or a photo, sees a preview, confirms; the Broadcaster sends it."""

from __future__ import annotations

from dataclasses import replace

from core.callback_data import CancelBroadcast, SendBroadcast
from core.context import Reply, Services, Turn
from core.handlers.admin_tools import audit
from core.views.admin import render_broadcast_preview, render_broadcast_progress
from ports.admin import Broadcast, BroadcastState
from ports.effects import Effect, ResultKind, SendFile
from ports.media import MediaKind, MediaRef


async def draft_from_text(services: Services, turn: Turn, text: str) -> Reply:
    broadcast = Broadcast(services.new_id(), turn.user.id, text.strip(), turn.now)
    await services.storage.broadcasts.create(broadcast)
    return Reply([turn.send(render_broadcast_preview(turn.fmt, broadcast, turn.fmt.t("admin.bc.recipients")))])


async def draft_from_media(services: Services, turn: Turn, ref: MediaRef, caption: str) -> Reply:
    if ref.kind is not MediaKind.PHOTO:
        return await draft_from_text(services, turn, caption) if caption.strip() else Reply(rejected="VALIDATION_FAIL")
    broadcast = Broadcast(services.new_id(), turn.user.id, caption.strip(), turn.now, photo_file_id=ref.file_id)
    await services.storage.broadcasts.create(broadcast)
    effects: list[Effect] = [SendFile(turn.chat_id, ResultKind.PHOTO, ref.file_id, broadcast.text)]
    effects.append(turn.send(render_broadcast_preview(turn.fmt, broadcast, turn.fmt.t("admin.bc.recipients"))))
    return Reply(effects)


async def confirm(services: Services, turn: Turn, data: SendBroadcast) -> Reply:
    started = await services.storage.broadcasts.start(data.broadcast, turn.now)
    if started is None:
        return Reply(toast=turn.fmt.t("admin.bc.already"), rejected="ALREADY_STARTED")
    await audit(services, turn, "broadcast", id=started.id, photo=bool(started.photo_file_id), length=len(started.text))
    return Reply([turn.show(render_broadcast_progress(turn.fmt, started))], started_broadcast=started.id)


async def cancel(services: Services, turn: Turn, data: CancelBroadcast) -> Reply:
    broadcast = await services.storage.broadcasts.get(data.broadcast)
    if broadcast is None or broadcast.state is not BroadcastState.DRAFT:
        return Reply(toast=turn.fmt.t("admin.bc.already"), rejected="ALREADY_STARTED")
    await services.storage.broadcasts.finish(broadcast.id, BroadcastState.CANCELLED, turn.now)
    cancelled = replace(broadcast, state=BroadcastState.CANCELLED)
    return Reply([turn.show(render_broadcast_progress(turn.fmt, cancelled))])
