-- Who said a message is part of what is searched for it by words: "what
-- is Priya's dog called?" names Priya, and her own words ("we adopted a
-- beagle") do not. A message's speaker, when it is a name (not a channel
-- identity such as `telegram:42`), is indexed beside its text. (Its
-- vector stays the text's alone: a name in front pulls every short message
-- of one speaker together.)

DROP TRIGGER memory_fts_insert;
DROP TRIGGER memory_fts_delete;
DROP TRIGGER memory_fts_update;
DROP TABLE memory_fts;

CREATE VIRTUAL TABLE memory_fts USING fts5(text, tags, actor, content = 'memory', content_rowid = 'rowid', tokenize = 'porter unicode61');

-- The speaker as indexed: a message's actor when it is a name, else nothing.
CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory BEGIN
    INSERT INTO memory_fts (rowid, text, tags, actor) VALUES (new.rowid, new.text, new.tags,
        CASE WHEN new.kind IN ('question', 'statement', 'command', 'reply') AND instr(new.actor, ':') = 0 THEN new.actor ELSE '' END);
END;
CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, tags, actor) VALUES ('delete', old.rowid, old.text, old.tags,
        CASE WHEN old.kind IN ('question', 'statement', 'command', 'reply') AND instr(old.actor, ':') = 0 THEN old.actor ELSE '' END);
END;
CREATE TRIGGER memory_fts_update AFTER UPDATE OF text, tags ON memory BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, tags, actor) VALUES ('delete', old.rowid, old.text, old.tags,
        CASE WHEN old.kind IN ('question', 'statement', 'command', 'reply') AND instr(old.actor, ':') = 0 THEN old.actor ELSE '' END);
    INSERT INTO memory_fts (rowid, text, tags, actor) VALUES (new.rowid, new.text, new.tags,
        CASE WHEN new.kind IN ('question', 'statement', 'command', 'reply') AND instr(new.actor, ':') = 0 THEN new.actor ELSE '' END);
END;

INSERT INTO memory_fts (rowid, text, tags, actor)
SELECT rowid, text, tags,
    CASE WHEN kind IN ('question', 'statement', 'command', 'reply') AND instr(actor, ':') = 0 THEN actor ELSE '' END
FROM memory;
