-- 0002_billing: money coming in (ports.billing) and what the statistics read (ports.admin): a user's debt and
-- last activity, free jobs, Stars payments (0001's payments table), manual top-ups, the free tier's tries,
-- referral rewards (0001's referrals table). Applied in one transaction by migrations.py.

-- What a Stars refund could not take back from the balance; every later credit settles it first (money.py).
-- Changed only together with balance, by money.py's guarded UPDATEs.
ALTER TABLE users ADD COLUMN debt BIGINT NOT NULL DEFAULT 0 CONSTRAINT users_debt_not_negative CHECK (debt >= 0);
-- UserDirectory.touch: written at most every 10 minutes per user.
ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMPTZ;
CREATE INDEX users_last_seen ON users (last_seen_at) WHERE last_seen_at IS NOT NULL;
CREATE INDEX users_username_lower ON users (lower(username)) WHERE username IS NOT NULL;

ALTER TABLE jobs ADD COLUMN free BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX jobs_model ON jobs (model_id);

-- Telegram Stars: amount is what was credited (smallest unit of the balance), stars what the user paid.
-- The table is empty until this migration (0001 created it for this issue).
ALTER TABLE payments ADD COLUMN stars BIGINT NOT NULL CONSTRAINT payments_stars_positive CHECK (stars > 0);
ALTER TABLE payments ALTER COLUMN currency SET DEFAULT 'XTR';
ALTER TABLE payments ALTER COLUMN payload SET NOT NULL;
CREATE INDEX payments_created ON payments (created_at) WHERE refunded_at IS NULL;

-- Bank-transfer top-ups decided by an admin: PENDING -> APPROVED (credited) | REJECTED, once.
CREATE TABLE manual_topups (
    id              TEXT PRIMARY KEY CHECK (id <> ''),
    seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    receipt_file_id TEXT NOT NULL,
    receipt_kind    TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by      BIGINT,
    decided_at      TIMESTAMPTZ,
    CONSTRAINT manual_topups_decided CHECK ((state = 'pending') = (decided_at IS NULL))
);
CREATE INDEX manual_topups_approved ON manual_topups (decided_at) WHERE state = 'approved';

-- The free tier: one row per job that asked for a free try (taken or refused: a repeat answers the same),
-- and per user and day the tries taken and not given back; ``used`` is raised only by a guarded UPDATE
-- (used < limit), which the row lock serialises, so concurrent tries never pass the limit.
CREATE TABLE free_tries (
    job_id   TEXT PRIMARY KEY CHECK (job_id <> ''),
    user_id  BIGINT NOT NULL,
    day      TEXT NOT NULL,
    taken    BOOLEAN NOT NULL,
    released BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT free_tries_released_was_taken CHECK (taken OR NOT released)
);
CREATE TABLE free_days (
    user_id BIGINT NOT NULL,
    day     TEXT NOT NULL,
    used    INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (user_id, day)
);

-- Referral rewards: the bonuses credited when the pair was rewarded (rewarded_at set once).
ALTER TABLE referrals ADD COLUMN inviter_bonus BIGINT NOT NULL DEFAULT 0 CHECK (inviter_bonus >= 0);
ALTER TABLE referrals ADD COLUMN invitee_bonus BIGINT NOT NULL DEFAULT 0 CHECK (invitee_bonus >= 0);
