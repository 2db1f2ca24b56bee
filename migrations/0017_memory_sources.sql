-- A record's own time, and what it was made from.
-- `occurred_at`: when what it says happened (imported history keeps its
-- dates). Search's date filters, time weighting and what is shown use it;
-- `created_at` stays when steward took the record in (retention ages by it).
-- `source_id`: what the record was made from (a file and its content hash,
-- a message id); taking in the same source again, in the same scope, adds
-- nothing.
ALTER TABLE memory ADD COLUMN occurred_at INTEGER;
UPDATE memory SET occurred_at = created_at;
ALTER TABLE memory ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX memory_by_source ON memory (scope, source_id) WHERE source_id IS NOT NULL;
CREATE INDEX memory_by_scope_occurred ON memory (scope, occurred_at);

-- A large batch is answered before its records are embedded: its job is
-- the records it added, polled until the indexer has them all.
CREATE TABLE memory_jobs (
    id          TEXT PRIMARY KEY,       -- a ULID
    records     TEXT NOT NULL,          -- JSON array of the ids it added
    created_at  INTEGER NOT NULL
);
