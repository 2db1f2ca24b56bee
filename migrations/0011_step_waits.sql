-- A step may wait before it runs: `wait_ms` after it becomes due (a
-- workflow's `wait`, a plan's `wait_secs`), and not before `not_before`
-- (a workflow's `wait_until`). The wait is the step's timer row
-- (`next_attempt_at`), so it survives restarts like every other timer.
ALTER TABLE steps ADD COLUMN wait_ms INTEGER;
ALTER TABLE steps ADD COLUMN not_before INTEGER;
