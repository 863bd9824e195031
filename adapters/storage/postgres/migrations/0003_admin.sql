-- 0003_admin: what operators change at runtime (ports.admin): the markup and the models switched off, and
-- broadcasts that survive a restart. The audit log reuses 0001's audit_log table (actor: the admin's
-- Telegram id as text). Applied in one transaction by migrations.py.

-- At most one row (id is always TRUE); no row, or markup NULL, means "the settings' markup".
CREATE TABLE runtime_settings (
    id         BOOLEAN PRIMARY KEY DEFAULT TRUE CONSTRAINT runtime_settings_single_row CHECK (id),
    markup     NUMERIC CONSTRAINT runtime_settings_markup_positive CHECK (markup > 0),  -- exact, digits kept
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per model an admin switched off; switching it back on deletes the row.
CREATE TABLE disabled_models (
    model_id    TEXT PRIMARY KEY CHECK (model_id <> ''),
    disabled_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE broadcasts (
    id            TEXT PRIMARY KEY,
    admin_id      BIGINT NOT NULL,
    text          TEXT NOT NULL,
    photo_file_id TEXT,
    state         TEXT NOT NULL CHECK (state IN ('draft', 'sending', 'done', 'cancelled')),
    "cursor"      BIGINT NOT NULL DEFAULT 0,  -- the last user id handled: sending resumes after it
    delivered     BIGINT NOT NULL DEFAULT 0 CHECK (delivered >= 0),
    failed        BIGINT NOT NULL DEFAULT 0 CHECK (failed >= 0),
    blocked       BIGINT NOT NULL DEFAULT 0 CHECK (blocked >= 0),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ
);
CREATE INDEX broadcasts_sending ON broadcasts (created_at, id) WHERE state = 'sending';

-- audit_log: recent() reads newest first, ties in recording order.
CREATE INDEX audit_log_newest ON audit_log (at DESC, id DESC);

-- recipients(): user ids after a cursor, skipping those who blocked the bot.
CREATE INDEX users_reachable ON users (id) WHERE NOT blocked;
