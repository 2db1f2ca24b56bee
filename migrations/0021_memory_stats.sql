-- Word search weighs a word by how rare it is among the records the reader
-- searches, and needs their count and total length. Kept here per (scope,
-- kind) by triggers, so a search reads a few rows instead of every record
-- of its scopes.
CREATE TABLE memory_stats (
    scope TEXT NOT NULL,
    kind  TEXT NOT NULL,
    n     INTEGER NOT NULL,
    chars INTEGER NOT NULL,
    PRIMARY KEY (scope, kind)
) WITHOUT ROWID;

INSERT INTO memory_stats (scope, kind, n, chars)
SELECT scope, kind, COUNT(*), SUM(length(text)) FROM memory GROUP BY scope, kind;

CREATE TRIGGER memory_stats_insert AFTER INSERT ON memory BEGIN
    INSERT INTO memory_stats (scope, kind, n, chars) VALUES (new.scope, new.kind, 1, length(new.text))
    ON CONFLICT (scope, kind) DO UPDATE SET n = n + 1, chars = chars + excluded.chars;
END;
CREATE TRIGGER memory_stats_delete AFTER DELETE ON memory BEGIN
    UPDATE memory_stats SET n = n - 1, chars = chars - length(old.text) WHERE scope = old.scope AND kind = old.kind;
END;
CREATE TRIGGER memory_stats_update AFTER UPDATE OF text, scope, kind ON memory BEGIN
    UPDATE memory_stats SET n = n - 1, chars = chars - length(old.text) WHERE scope = old.scope AND kind = old.kind;
    INSERT INTO memory_stats (scope, kind, n, chars) VALUES (new.scope, new.kind, 1, length(new.text))
    ON CONFLICT (scope, kind) DO UPDATE SET n = n + 1, chars = chars + excluded.chars;
END;
