"""ports.admin.RuntimeSettings on PostgreSQL: ``runtime_settings`` (one row: the markup) and
``disabled_models`` (one row per model switched off), both from migration 0003.

The markup is an unconstrained NUMERIC, which keeps the digits it is given: Decimal("2.35") comes back as
Decimal("2.35"), Decimal("2.350") as Decimal("2.350"). It is sent as the Decimal of its plain decimal
text (json_admin.markup_text), exactly what the JSON storage keeps. ``overrides`` reads both tables in one
statement, so it sees one consistent snapshot.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.storage.json_admin import flag, markup_text, model_id_of
from adapters.storage.postgres.db import Database
from ports.admin import Overrides

OVERRIDES = (
    "SELECT (SELECT markup FROM runtime_settings WHERE id) AS markup, "
    "ARRAY(SELECT model_id FROM disabled_models) AS disabled"
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
        return Overrides(disabled_models=frozenset(row["disabled"]), markup=row["markup"])

    async def set_model_enabled(self, model_id: str, enabled: bool) -> None:
        model_id, enabled = model_id_of(model_id), flag(enabled)
        async with self._db.connection() as conn:
            await conn.execute(ENABLE if enabled else DISABLE, model_id)

    async def set_markup(self, markup: Decimal | None) -> None:
        value = None if markup is None else Decimal(markup_text(markup))
        async with self._db.connection() as conn:
            await conn.execute(SET_MARKUP, value)
