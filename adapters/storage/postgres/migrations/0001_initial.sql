-- 0001_initial: the bot's state (users and their balance, ledger, drafts, jobs, Telegram inbox) and the empty
-- tables later issues fill (payments, referrals, audit_log). Applied in one transaction by migrations.py.
-- Times are TIMESTAMPTZ (UTC in and out); money is BIGINT of the smallest currency unit.

CREATE TABLE users (
    id              BIGINT PRIMARY KEY,
    created_at      TIMESTAMPTZ NOT NULL,
    language        TEXT,
    language_code   TEXT,
    username        TEXT,
    first_name      TEXT,
    active_draft_id TEXT,
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    -- Changed only by ledger.py's guarded UPDATE, in the transaction that inserts the ledger entry.
    balance         BIGINT NOT NULL DEFAULT 0 CONSTRAINT users_balance_not_negative CHECK (balance >= 0)
);

CREATE TABLE ledger (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order: entries newest first
    key           TEXT NOT NULL CONSTRAINT ledger_key_unique UNIQUE CHECK (key <> ''),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    amount        BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    reason        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_user_newest ON ledger (user_id, seq DESC);

CREATE TABLE drafts (
    id         TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL,  -- no foreign key: a draft may be put before the user row exists
    chat_id    BIGINT NOT NULL,
    model_id   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    media      JSONB NOT NULL DEFAULT '{}',  -- input name -> [URL, ...]
    prompt     TEXT,
    options    JSONB NOT NULL DEFAULT '{}',
    message_id BIGINT
);

CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY,
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,  -- launch order: breaks created_at ties
    user_id             BIGINT NOT NULL REFERENCES users (id),
    chat_id             BIGINT NOT NULL,
    model_id            TEXT NOT NULL,
    input               JSONB NOT NULL,
    price               BIGINT NOT NULL CHECK (price >= 0),
    state               TEXT NOT NULL CHECK (state IN (
                            'created', 'submitted', 'running', 'succeeded', 'delivered', 'failed', 'timed_out',
                            'refunded')),
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    deadline_at         TIMESTAMPTZ NOT NULL,
    language            TEXT NOT NULL,
    options             JSONB NOT NULL DEFAULT '{}',
    progress_message_id BIGINT,
    task_id             TEXT,
    result_urls         TEXT[] NOT NULL DEFAULT '{}',
    result_text         TEXT,
    error               TEXT,
    error_message       TEXT,
    cid                 TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX jobs_task_id_unique ON jobs (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX jobs_state_oldest ON jobs (state, created_at, seq);
CREATE INDEX jobs_user_newest ON jobs (user_id, created_at DESC, seq DESC);

-- Telegram updates taken in. Pending while done_at IS NULL; a done row keeps only its id (payload cleared)
-- for deduplication and is deleted once done more than 24 h ago (inbox.py prunes).
CREATE TABLE inbox (
    update_id   BIGINT PRIMARY KEY,
    payload     JSONB,
    chat_id     BIGINT,
    cid         TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMPTZ NOT NULL,
    done_at     TIMESTAMPTZ,
    CONSTRAINT inbox_pending_has_payload CHECK (done_at IS NOT NULL OR payload IS NOT NULL)
);
CREATE INDEX inbox_pending ON inbox (update_id) WHERE done_at IS NULL;
CREATE INDEX inbox_done_at ON inbox (done_at) WHERE done_at IS NOT NULL;

-- Filled by the payments issue: one row per Telegram successful_payment, charge_id is its idempotency key.
CREATE TABLE payments (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_id          TEXT NOT NULL CONSTRAINT payments_charge_id_unique UNIQUE,
    provider_charge_id TEXT,
    user_id            BIGINT NOT NULL REFERENCES users (id),
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    payload            TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    refunded_at        TIMESTAMPTZ
);
CREATE INDEX payments_user ON payments (user_id, created_at DESC);

-- Filled by the referrals issue: who brought whom, and when the referrer was rewarded.
CREATE TABLE referrals (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id),
    referrer_id BIGINT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    rewarded_at TIMESTAMPTZ,
    CONSTRAINT referrals_not_self CHECK (user_id <> referrer_id)
);
CREATE INDEX referrals_referrer ON referrals (referrer_id);

-- Admin commands and other actions worth a trail.
CREATE TABLE audit_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor   TEXT NOT NULL,  -- a Telegram user id, or 'system'
    action  TEXT NOT NULL,
    details JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
