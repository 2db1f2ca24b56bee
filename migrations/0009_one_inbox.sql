-- One inbox. A platform event was kept twice: once by its chat channel
-- (channel_inbound, until handled) and again by reasoning (inbox, the claim
-- committed with what the event produced). Now one row per (channel,
-- external id) is both: the channel keeps it (conversation, event), reasoning
-- claims the same row (payload, payload_hash) in the transaction that records
-- what it produced (intent_id or reply), and the channel marks it done.
-- Events from the HTTP API have no conversation and no event: they are
-- claimed as they arrive.
CREATE TABLE inbox_v2 (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    -- `channel:id`, as everywhere else.
    actor        TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    -- A chat event: where it came from (handled in order within it), what
    -- the platform said, and when it was handled.
    conversation TEXT,
    event        TEXT,
    done_at      INTEGER,
    -- The claim: the input as reasoning read it, its hash (a replay with
    -- another input is a conflict), and what it produced.
    payload      TEXT,
    payload_hash TEXT,
    intent_id    TEXT REFERENCES intents (id),
    reply        TEXT,
    UNIQUE (channel, external_id)
);

INSERT INTO inbox_v2 (id, channel, external_id, actor, received_at, payload, payload_hash, intent_id, reply)
SELECT id, channel, external_id, actor, received_at, payload, payload_hash, intent_id, reply FROM inbox;

-- A chat event both tables hold becomes one row: the claim's, with the
-- channel's conversation, event and done mark.
INSERT INTO inbox_v2 (id, channel, external_id, actor, received_at, conversation, event, done_at)
SELECT 'kept:' || channel || ':' || external_id, channel, external_id, channel || ':' || actor, received_at,
       conversation, payload, done_at
FROM channel_inbound WHERE true
ON CONFLICT (channel, external_id) DO UPDATE SET
    conversation = excluded.conversation,
    event = excluded.event,
    done_at = excluded.done_at,
    received_at = min(inbox_v2.received_at, excluded.received_at);

DROP TABLE channel_inbound;
DROP TABLE inbox;
ALTER TABLE inbox_v2 RENAME TO inbox;

CREATE INDEX inbox_open ON inbox (channel, received_at) WHERE event IS NOT NULL AND done_at IS NULL;
CREATE INDEX inbox_received ON inbox (received_at);
