-- 0008_unit_of_work: the free tier's daily use is counted from free_tries (core/cashier.py counts it in a unit
-- of work, under the user's row lock), so free_days, a counter the storage used to keep by its own rule, goes.
CREATE INDEX free_tries_user_day ON free_tries (user_id, day) WHERE taken AND NOT released;
DROP TABLE free_days;
