-- 0006_inbox_payload_text: the inbox keeps each update's JSON as text, exactly as it arrived.
-- JSONB refuses U+0000 ("unsupported Unicode escape sequence"), which a real update may carry (escaped as
-- \u0000) in any user text: such an update could never be stored, so the webhook answered 500 on every
-- redelivery and held back the bot's update queue. Nothing queries inside the payload, and text also spares
-- the server a JSONB parse on every insert. Rows already stored keep their JSON (as JSONB's text form).
ALTER TABLE inbox ALTER COLUMN payload TYPE TEXT USING payload::text;
