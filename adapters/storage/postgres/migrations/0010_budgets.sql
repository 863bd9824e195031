-- Budgets shared by every bot process on this database (ports/budgets.py, adapters/storage/postgres/budgets.py).

-- KIE's generation requests: one row per slot of the window (20 by default). A slot is used again only when
-- its last use has left the window, so no window ever holds more uses than there are slots.
CREATE TABLE submit_slots (
    budget  TEXT NOT NULL,
    slot    INTEGER NOT NULL,
    used_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
    PRIMARY KEY (budget, slot)
);

-- Telegram's sending pace (GCRA): the theoretical arrival time of the next send, in epoch seconds, per chat
-- ('chat:<id>') and overall ('overall'); slow_until: the overall pace is slowed down until then (a 429).
CREATE TABLE send_pace (
    key        TEXT PRIMARY KEY,
    tat        DOUBLE PRECISION NOT NULL,
    slow_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
