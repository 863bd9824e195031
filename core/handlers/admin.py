"""Operator commands. Non-admins get the ordinary unknown-command answer: no hint these exist."""

from __future__ import annotations

from core.context import Reply, Services, Turn
from core.handlers.navigation import unknown_command
from core.views.admin import render_status
from ports.generation import GatewayError


def is_admin(services: Services, turn: Turn) -> bool:
    return turn.user.id in services.settings.admin_ids


async def status(services: Services, turn: Turn, fields: tuple[str, ...] = ()) -> Reply:
    """/status: the generation service as the bot sees it, and the operator's KIE credits."""
    if not is_admin(services, turn):
        return await unknown_command(services, turn)
    try:
        credits = await services.gateway.credits()
        credits_error = None
    except GatewayError as error:
        credits, credits_error = None, error.code
    return Reply([turn.send(render_status(turn.fmt, services.gateway.health(), credits, credits_error))])
