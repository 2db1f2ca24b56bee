-- A workflow asked for by name in words ("onboard Acme") whose required
-- arguments the request did not give: steward asks for them one at a time
-- in the chat it came from, and keeps what it has here. One form per person
-- per chat; a newer request replaces it. The next plain message from that
-- person in that chat answers the parameter `asking`.
CREATE TABLE arg_forms (
    chat        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    workflow    TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    -- The arguments so far, a JSON object.
    args        TEXT NOT NULL,
    asking      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (chat, actor)
);
