"""ports.billing.FreeUsage on PostgreSQL: ``free_tries`` (one row per job that asked, taken or refused) and
``free_days`` (per user and day, the tries taken and not given back).

consume, in one transaction: insert the job's row first (``ON CONFLICT (job_id) DO NOTHING``: a repeat, even a
concurrent one, waits for the first insert and then reads its answer); then raise the day's counter with a
guarded ``UPDATE ... SET used = used + 1 WHERE used < limit``, which the row lock serialises and PostgreSQL
re-checks on the latest row version, so concurrent consumes never pass the limit. release is a
compare-and-set on the job's row (``NOT released``) and gives the try back in the same transaction.
"""

from __future__ import annotations

from adapters.storage import billing_checks as checks
from adapters.storage.postgres import codec
from adapters.storage.postgres.db import Database

ASK = (
    "INSERT INTO free_tries (job_id, user_id, day, taken) VALUES ($1, $2, $3, FALSE) "
    "ON CONFLICT (job_id) DO NOTHING RETURNING job_id"
)
ANSWER = "SELECT taken FROM free_tries WHERE job_id = $1"
OPEN_DAY = "INSERT INTO free_days (user_id, day) VALUES ($1, $2) ON CONFLICT (user_id, day) DO NOTHING"
TAKE = "UPDATE free_days SET used = used + 1 WHERE user_id = $1 AND day = $2 AND used < $3 RETURNING used"
MARK_TAKEN = "UPDATE free_tries SET taken = TRUE WHERE job_id = $1"
RELEASE = (
    "UPDATE free_tries SET released = TRUE WHERE job_id = $1 AND taken AND NOT released RETURNING user_id, day"
)
GIVE_BACK = "UPDATE free_days SET used = used - 1 WHERE user_id = $1 AND day = $2"
USED = "SELECT used FROM free_days WHERE user_id = $1 AND day = $2"


class PostgresFreeUsage:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def consume(self, user_id: int, day: str, limit: int, job_id: str) -> bool:
        user_id, day, limit = codec.user_id(user_id), checks.day(day), checks.count(limit, "limit")
        job_id = checks.text_id(job_id, "a job id")
        async with self._db.transaction() as conn:
            if await conn.fetchval(ASK, job_id, user_id, day) is None:  # asked before: the same answer
                return await conn.fetchval(ANSWER, job_id)
            await conn.execute(OPEN_DAY, user_id, day)
            taken = await conn.fetchval(TAKE, user_id, day, limit) is not None
            if taken:
                await conn.execute(MARK_TAKEN, job_id)
        return taken

    async def release(self, job_id: str) -> bool:
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(RELEASE, job_id)
            if row is None:
                return False
            await conn.execute(GIVE_BACK, row["user_id"], row["day"])
        return True

    async def used(self, user_id: int, day: str) -> int:
        async with self._db.connection() as conn:
            used = await conn.fetchval(USED, codec.user_id(user_id), checks.day(day))
        return used or 0
