-- Buttons on a reply that each do one thing (start a workflow from
-- /workflows, cancel a reminder from /reminders). A button carries only its
-- token; what it does is kept here, offered to one person, and done at most
-- once: the first press claims it (`used_by` is that press's event, so a
-- redelivery of the same press goes on, and any other press is refused).
CREATE TABLE menu_buttons (
    token      TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    TEXT
);
CREATE INDEX menu_buttons_expiry ON menu_buttons (expires_at);
