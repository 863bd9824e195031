-- A follow-up (Veo 1080p, …) is a job of its own made from a delivered one: the source job's id, on the
-- draft being confirmed and on the job launched from it.
ALTER TABLE drafts ADD COLUMN source_job_id TEXT;
ALTER TABLE jobs ADD COLUMN source_job_id TEXT;
