-- Points to remove from the vector index. A row is written in the
-- transaction that forgets or archives a record and removed once the index
-- confirms the delete, so a delete the index refused (a server down, say)
-- is retried until it succeeds instead of leaving the point behind.
CREATE TABLE vector_deletes (
    id        TEXT PRIMARY KEY,
    queued_at INTEGER NOT NULL
);
