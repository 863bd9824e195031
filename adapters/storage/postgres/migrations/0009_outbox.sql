-- 0009_outbox: the transactional outbox. A message promised to a user (a receipt, a refund notice, a screen) is
-- inserted in the same transaction as the change that made it; once sent, sent_at is set and the row (its key)
-- is kept for 24 h so that a repeat of the same commit adds nothing, then deleted (outbox.py prunes).
-- seq orders one chat's messages.
CREATE TABLE outbox (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    chat_id         BIGINT NOT NULL,
    effect          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    cid             TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (chat_id, seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
