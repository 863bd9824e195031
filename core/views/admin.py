"""Screens only operators see."""

from __future__ import annotations

from decimal import Decimal

from core.i18n import Fmt
from core.views.common import lines
from ports.generation import GatewayHealth
from ports.screens import Screen


def render_status(fmt: Fmt, health: GatewayHealth, credits: Decimal | None, credits_error: str | None) -> Screen:
    text = lines(
        fmt.t("admin.status.title"),
        fmt.t("admin.status.kie_state", state=health.state, accepting=fmt.t("yes") if health.accepting else fmt.t("no")),
        fmt.t("admin.status.last_error", code=health.last_error) if health.last_error else None,
        fmt.t("admin.status.credits", credits=credits) if credits is not None else fmt.t("admin.status.credits_error", code=credits_error),
    )
    return Screen(text, (), "admin_status")


def render_alert(fmt: Fmt, code: str) -> Screen:
    return Screen(fmt.t(f"admin.alert.{code}"), (), "admin_alert")
