-- 0011_claims: every instance processes (issue #17). An inbox row or a job is worked on by the instance whose
-- lease it holds (claimed_by, lease_until); a lease not renewed in time expires and another instance takes the
-- row over (adapters/storage/postgres/claims.py). A new inbox row wakes the listening instances at once.

ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN lease_until TIMESTAMPTZ;
-- The head of each chat's pending updates (the only row of a chat that may be claimed).
CREATE INDEX inbox_pending_chat ON inbox (chat_id, update_id) WHERE done_at IS NULL;

ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TIMESTAMPTZ;

-- NOTIFY after every stored update (only a row really inserted fires; a duplicate's ON CONFLICT DO NOTHING
-- does not). Delivered at commit; the payload is not used: a woken instance claims whatever is claimable.
CREATE FUNCTION inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('trt_inbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER inbox_notify AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION inbox_notify();
