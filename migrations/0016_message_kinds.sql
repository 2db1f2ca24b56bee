-- Messages are told apart: a question is never an answer, so it cannot be
-- the same kind as a statement of fact. Every message kept so far was the
-- text of an intent: a request to act (a command), or, when it was worded
-- as a question, a question that had no answer. Their vector points carry
-- the old kind, so they are indexed again.
UPDATE memory
SET kind = CASE
        WHEN why = 'inbound message' AND rtrim(text) LIKE '%?' THEN 'question'
        WHEN why = 'inbound message' THEN 'command'
        ELSE 'statement'
    END,
    indexed_at = NULL
WHERE kind = 'message';
