-- The event log: the durable inbox the intake commits to before answering 202, the queue the
-- applier consumes in seq order, and the append-only history of every order. Never updated.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    track        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    occurred_ns  INTEGER NOT NULL,
    received_ns  INTEGER NOT NULL,
    content_hash BLOB    NOT NULL,
    body         TEXT    NOT NULL
);
CREATE UNIQUE INDEX events_identity ON events (tenant, source, event_id);
CREATE UNIQUE INDEX events_content ON events (tenant, content_hash);
CREATE INDEX events_order ON events (tenant, order_id);

-- Folded state of each stream (an order's own events, or one tracking number's).
CREATE TABLE streams (
    tenant   TEXT NOT NULL,
    order_id TEXT NOT NULL,
    track    TEXT NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (tenant, order_id, track)
) WITHOUT ROWID;
CREATE INDEX streams_track ON streams (tenant, track);

-- The current view of each order; version is the seq of its latest change.
CREATE TABLE orders (
    tenant     TEXT    NOT NULL,
    order_id   TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    carriers   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    view       TEXT    NOT NULL,
    PRIMARY KEY (tenant, order_id)
) WITHOUT ROWID;
CREATE INDEX orders_version ON orders (tenant, version);
CREATE INDEX orders_status ON orders (tenant, status, version);

-- Every state change, in order: what /v1/stream sends and resumes from.
CREATE TABLE changes (
    seq      INTEGER PRIMARY KEY,
    tenant   TEXT NOT NULL,
    order_id TEXT NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX changes_tenant ON changes (tenant, seq);

-- Checkpoints: applied_seq is how far the applier has consumed the event log.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('applied_seq', 0);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    hash       BLOB    NOT NULL UNIQUE,
    label      TEXT,
    created_ns INTEGER NOT NULL,
    revoked_ns INTEGER
);
