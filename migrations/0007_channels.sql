-- The chat channels (Telegram, Discord).

-- Inbound chat events, kept before the platform is told they arrived (the
-- Telegram offset moves, the Discord interaction is acknowledged), then
-- handled in order per conversation. A redelivered event is the same row.
CREATE TABLE channel_inbound (
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    conversation TEXT NOT NULL,
    actor        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    done_at      INTEGER,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX channel_inbound_open ON channel_inbound (channel, received_at) WHERE done_at IS NULL;

-- People a pairing code added, beside those the config allows.
CREATE TABLE channel_users (
    channel  TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)
);

-- One-time pairing codes, kept as hashes.
CREATE TABLE pairing_codes (
    code_hash  TEXT PRIMARY KEY,
    channel    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_by    TEXT,
    used_at    INTEGER
);

-- How each channel's connection is doing, for /readyz and doctor.
CREATE TABLE channel_health (
    channel    TEXT PRIMARY KEY,
    state      TEXT NOT NULL,      -- ok | conflict | error
    detail     TEXT NOT NULL,
    since      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Outbox states are now pending | sent | failed (refused by the platform).
-- Messages to one destination go out in the order they were queued (rowid):
-- only the oldest pending one is claimed, found through this index.
CREATE INDEX outbox_destination_pending ON outbox (destination) WHERE state = 'pending';
