-- Memory: records with provenance, the source of truth; FTS5 kept in sync by
-- triggers in the same transaction; vectors are derived (indexed_at says
-- whether the vector index has caught up).

CREATE TABLE memory (
    rowid        INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,      -- a ULID; the vector point id is the same 128 bits
    kind         TEXT NOT NULL,             -- message | decision | intent_outcome | note | summary | document
    text         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '[]',
    meta         TEXT NOT NULL DEFAULT '{}',
    actor        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    intent_id    TEXT,
    agent_version TEXT,
    why          TEXT,
    created_at   INTEGER NOT NULL,
    archived_at  INTEGER,
    summary_of   TEXT,                      -- JSON array of record ids, for rollups
    indexed_at   INTEGER                    -- NULL: the vector index has not got it yet
);
CREATE INDEX memory_by_scope ON memory (scope, created_at);
CREATE INDEX memory_unindexed ON memory (rowid) WHERE indexed_at IS NULL AND archived_at IS NULL;
CREATE INDEX memory_by_kind_time ON memory (kind, created_at);

CREATE VIRTUAL TABLE memory_fts USING fts5(text, tags, content = 'memory', content_rowid = 'rowid', tokenize = 'porter unicode61');

CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory BEGIN
    INSERT INTO memory_fts (rowid, text, tags) VALUES (new.rowid, new.text, new.tags);
END;
CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, tags) VALUES ('delete', old.rowid, old.text, old.tags);
END;
CREATE TRIGGER memory_fts_update AFTER UPDATE OF text, tags ON memory BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, tags) VALUES ('delete', old.rowid, old.text, old.tags);
    INSERT INTO memory_fts (rowid, text, tags) VALUES (new.rowid, new.text, new.tags);
END;
