-- Where a step's host names pointed when the policy judged it (JSON: host
-- -> addresses). The step connects only to addresses of the kinds judged,
-- so a name that rebinds to an internal address after judgement (DNS
-- rebinding) is refused. NULL for steps judged before this column.
ALTER TABLE steps ADD COLUMN reach TEXT;
