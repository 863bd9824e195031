-- 0009_outbox: the transactional outbox. A message promised to a user (a receipt, a refund notice, a screen) is
-- inserted in the same transaction as the change that made it and deleted once sent (that is "marked sent").
-- seq orders one chat's messages; key makes a repeated commit a no-op.
CREATE TABLE outbox (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    chat_id         BIGINT NOT NULL,
    effect          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    cid             TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ
);
CREATE INDEX outbox_chat ON outbox (chat_id, seq);
