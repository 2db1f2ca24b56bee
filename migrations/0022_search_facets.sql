-- Word search finds a word's matches within the scopes and kinds it
-- searches inside FTS5, before anything is joined, ranked or scored: each
-- record's scope and kind are indexed as opaque tokens in a `facets`
-- column ('s' || hex(scope), 'k' || hex(kind)), so a MATCH intersects
-- them with the words. A reader of one scope among many no longer walks
-- every match in every scope (or, as the planner sometimes chose, probes
-- the index once per record of the scope). SQL still checks the scope of
-- every record a search returns: the tokens only narrow the work.

DROP TRIGGER memory_fts_insert;
DROP TRIGGER memory_fts_delete;
DROP TRIGGER memory_fts_update;
DROP TABLE memory_fts;

CREATE VIRTUAL TABLE memory_fts USING fts5(text, tags, actor, facets, content = 'memory', content_rowid = 'rowid', tokenize = 'porter unicode61');

CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory BEGIN
    INSERT INTO memory_fts (rowid, text, tags, actor, facets) VALUES (new.rowid, new.text, new.tags,
        CASE WHEN new.kind IN ('question', 'statement', 'command', 'reply') AND instr(new.actor, ':') = 0 THEN new.actor ELSE '' END,
        's' || hex(new.scope) || ' k' || hex(new.kind));
END;
CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, tags, actor, facets) VALUES ('delete', old.rowid, old.text, old.tags,
        CASE WHEN old.kind IN ('question', 'statement', 'command', 'reply') AND instr(old.actor, ':') = 0 THEN old.actor ELSE '' END,
        's' || hex(old.scope) || ' k' || hex(old.kind));
END;
CREATE TRIGGER memory_fts_update AFTER UPDATE OF text, tags, actor, kind, scope ON memory BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, tags, actor, facets) VALUES ('delete', old.rowid, old.text, old.tags,
        CASE WHEN old.kind IN ('question', 'statement', 'command', 'reply') AND instr(old.actor, ':') = 0 THEN old.actor ELSE '' END,
        's' || hex(old.scope) || ' k' || hex(old.kind));
    INSERT INTO memory_fts (rowid, text, tags, actor, facets) VALUES (new.rowid, new.text, new.tags,
        CASE WHEN new.kind IN ('question', 'statement', 'command', 'reply') AND instr(new.actor, ':') = 0 THEN new.actor ELSE '' END,
        's' || hex(new.scope) || ' k' || hex(new.kind));
END;

INSERT INTO memory_fts (rowid, text, tags, actor, facets)
SELECT rowid, text, tags,
    CASE WHEN kind IN ('question', 'statement', 'command', 'reply') AND instr(actor, ':') = 0 THEN actor ELSE '' END,
    's' || hex(scope) || ' k' || hex(kind)
FROM memory;
