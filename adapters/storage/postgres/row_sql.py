"""The row statements of the PostgreSQL unit of work (uow.py): one per repository method, no rules."""

from __future__ import annotations

from adapters.storage.postgres import codec

USER = f"SELECT {codec.USER_COLUMNS} FROM users WHERE id = $1"
USER_WITH_ACCOUNT = f"SELECT {codec.USER_COLUMNS}, balance, debt FROM users WHERE id = $1"
ADD_USER = (
    "INSERT INTO users (id, created_at, language, language_code, username, first_name, active_draft_id, blocked, "
    "last_seen_at, banned) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING id"
)
PUT_USER = (
    "UPDATE users SET created_at = $2, language = $3, language_code = $4, username = $5, first_name = $6, "
    "active_draft_id = $7, blocked = $8, last_seen_at = $9, banned = $10 WHERE id = $1"
)
ACCOUNT = "SELECT id, balance, debt FROM users WHERE id = $1"
PUT_ACCOUNT = "UPDATE users SET balance = $2, debt = $3 WHERE id = $1"
ENTRY = f"SELECT {codec.ENTRY_COLUMNS} FROM ledger WHERE key = $1"
ADD_ENTRY = (
    "INSERT INTO ledger (key, user_id, amount, balance_after, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
)
DRAFT = f"SELECT {codec.DRAFT_COLUMNS} FROM drafts WHERE id = $1"
JOB = f"SELECT {codec.JOB_COLUMNS} FROM jobs WHERE id = $1"
ADD_JOB = (
    "INSERT INTO jobs (id, user_id, chat_id, model_id, input, price, state, created_at, updated_at, deadline_at, "
    "language, options, progress_message_id, task_id, result_urls, result_text, error, error_message, cid, free, "
    "source_job_id) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, "
    "$17, $18, $19, $20, $21) ON CONFLICT (id) DO NOTHING RETURNING id"
)
PAYMENT_COLUMNS = "charge_id, user_id, stars, amount, payload, created_at, refunded_at"
PAYMENT = f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE charge_id = $1"
ADD_PAYMENT = (
    "INSERT INTO payments (charge_id, user_id, stars, amount, currency, payload, created_at, refunded_at) "
    "VALUES ($1, $2, $3, $4, 'XTR', $5, $6, $7) ON CONFLICT (charge_id) DO NOTHING RETURNING charge_id"
)
PUT_PAYMENT = (
    "UPDATE payments SET user_id = $2, stars = $3, amount = $4, payload = $5, created_at = $6, refunded_at = $7 "
    "WHERE charge_id = $1"
)
TOPUP_COLUMNS = "id, user_id, amount, receipt_file_id, receipt_kind, created_at, state, decided_by, decided_at"
TOPUP = f"SELECT {TOPUP_COLUMNS} FROM manual_topups WHERE id = $1"
ADD_TOPUP = (
    "INSERT INTO manual_topups (id, user_id, amount, receipt_file_id, receipt_kind, created_at, state, decided_by, "
    "decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING id"
)
PUT_TOPUP = (
    "UPDATE manual_topups SET user_id = $2, amount = $3, receipt_file_id = $4, receipt_kind = $5, created_at = $6, "
    "state = $7, decided_by = $8, decided_at = $9 WHERE id = $1"
)
FREE_TRY = "SELECT job_id, user_id, day, taken, released FROM free_tries WHERE job_id = $1"
ADD_FREE_TRY = (
    "INSERT INTO free_tries (job_id, user_id, day, taken, released) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (job_id) DO NOTHING RETURNING job_id"
)
PUT_FREE_TRY = "UPDATE free_tries SET user_id = $2, day = $3, taken = $4, released = $5 WHERE job_id = $1"
# A transaction-scoped advisory lock on (user, day): held until the unit ends, whether or not any row exists.
LOCK_DAY = "SELECT pg_advisory_xact_lock(hashtextextended($1::bigint::text || ':' || $2, 0))"
FREE_USED = "SELECT count(*) FROM free_tries WHERE user_id = $1 AND day = $2 AND taken AND NOT released"
REFERRAL = (
    "SELECT user_id AS invitee_id, referrer_id AS inviter_id, created_at, rewarded_at, inviter_bonus, invitee_bonus "
    "FROM referrals WHERE user_id = $1"
)
ADD_REFERRAL = (
    "INSERT INTO referrals (user_id, referrer_id, created_at, rewarded_at, inviter_bonus, invitee_bonus) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO NOTHING RETURNING user_id"
)
PUT_REFERRAL = (
    "UPDATE referrals SET referrer_id = $2, created_at = $3, rewarded_at = $4, inviter_bonus = $5, "
    "invitee_bonus = $6 WHERE user_id = $1"
)
ADD_AUDIT = "INSERT INTO audit_log (at, actor, action, details) VALUES ($1, $2, $3, $4::jsonb)"
