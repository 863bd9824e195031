"""ports.admin.RuntimeSettings on PostgreSQL: ``runtime_settings`` (one row: the markup) and
``disabled_models`` (one row per model switched off), both from migration 0003; ``model_prices`` (operators'
prices) and ``price_drifts`` (alerted once per model until a price is confirmed) from migration 0005.

The markup is an unconstrained NUMERIC, which keeps the digits it is given: Decimal("2.35") comes back as
Decimal("2.35"), Decimal("2.350") as Decimal("2.350"). It is sent as the Decimal of its plain decimal
text (json_admin.markup_text), exactly what the JSON storage keeps. ``overrides`` reads both tables in one
statement, so it sees one consistent snapshot.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.storage.checks import flag, markup_text, model_id_of, price_text
from adapters.storage.entity_codec import encode
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database
from ports.admin import Overrides, PriceDrift

OVERRIDES = (
    "SELECT (SELECT markup FROM runtime_settings WHERE id) AS markup, "
    "ARRAY(SELECT model_id FROM disabled_models) AS disabled, "
    "ARRAY(SELECT ROW(model_id, credits::text) FROM model_prices) AS prices, "
    "ARRAY(SELECT ROW(model_id, catalog_credits::text, real_credits::text, at, stopped) FROM price_drifts) AS drifts"
)
SET_PRICE = (
    "INSERT INTO model_prices (model_id, credits, updated_at) VALUES ($1, $2, now()) "
    "ON CONFLICT (model_id) DO UPDATE SET credits = EXCLUDED.credits, updated_at = EXCLUDED.updated_at"
)
CLEAR_PRICE = "DELETE FROM model_prices WHERE model_id = $1"
CLEAR_DRIFT = "DELETE FROM price_drifts WHERE model_id = $1"
NOTE_DRIFT = (
    "INSERT INTO price_drifts (model_id, catalog_credits, real_credits, at, stopped) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (model_id) DO NOTHING RETURNING model_id"
)
DISABLE = "INSERT INTO disabled_models (model_id) VALUES ($1) ON CONFLICT (model_id) DO NOTHING"
ENABLE = "DELETE FROM disabled_models WHERE model_id = $1"
SET_MARKUP = (
    "INSERT INTO runtime_settings (id, markup, updated_at) VALUES (TRUE, $1, now()) "
    "ON CONFLICT (id) DO UPDATE SET markup = EXCLUDED.markup, updated_at = EXCLUDED.updated_at"
)


class PostgresRuntime:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def overrides(self) -> Overrides:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(OVERRIDES)
        return Overrides(
            disabled_models=frozenset(row["disabled"]), markup=row["markup"],
            prices={model_id: Decimal(credits) for model_id, credits in row["prices"]},
            drifts={
                model_id: PriceDrift(model_id, Decimal(planned), Decimal(real), codec.utc(at), stopped)
                for model_id, planned, real, at, stopped in row["drifts"]
            },
        )

    async def set_price(self, model_id: str, credits: Decimal | None) -> None:
        model_id = model_id_of(model_id)
        value = None if credits is None else Decimal(price_text(credits))
        async with self._db.transaction() as conn:
            if value is None:
                await conn.execute(CLEAR_PRICE, model_id)
            else:
                await conn.execute(SET_PRICE, model_id, value)
            await conn.execute(CLEAR_DRIFT, model_id)

    async def note_drift(self, drift: PriceDrift) -> bool:
        record = encode(drift)  # the same checks as the JSON storage
        model_id_of(drift.model_id)
        async with self._db.connection() as conn:
            row = await conn.fetchrow(
                NOTE_DRIFT, drift.model_id, Decimal(record["catalog_credits"]), Decimal(record["real_credits"]),
                codec.aware(drift.at), drift.stopped,
            )
        return row is not None

    async def set_model_enabled(self, model_id: str, enabled: bool) -> None:
        model_id, enabled = model_id_of(model_id), flag(enabled)
        async with self._db.connection() as conn:
            await conn.execute(ENABLE if enabled else DISABLE, model_id)

    async def set_markup(self, markup: Decimal | None) -> None:
        value = None if markup is None else Decimal(markup_text(markup))
        async with self._db.connection() as conn:
            await conn.execute(SET_MARKUP, value)
