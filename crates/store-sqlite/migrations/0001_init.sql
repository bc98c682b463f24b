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
-- Content dedup is scoped by order (the order id is part of the content, so this is the same
-- constraint), which keeps inserts local to the order instead of random over the whole index,
-- and serves the timeline query by its prefix.
CREATE UNIQUE INDEX events_content ON events (tenant, order_id, content_hash);

-- The current state of each order: every stream's folded state (the order's own events under
-- "", each tracking number under its own key) as one JSON object. One row per order keeps an
-- apply to one point read and one write; views are computed from it on read.
CREATE TABLE orders (
    tenant     TEXT    NOT NULL,
    order_id   TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    carriers   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    state      TEXT    NOT NULL
);
CREATE UNIQUE INDEX orders_key ON orders (tenant, order_id);
CREATE INDEX orders_version ON orders (tenant, version);
CREATE INDEX orders_status ON orders (tenant, status, version);

-- Which order a tracking number belongs to; written once per new tracking number.
CREATE TABLE shipments (
    tenant   TEXT NOT NULL,
    track    TEXT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (tenant, track, order_id)
) WITHOUT ROWID;

-- Every state change, in order: what /v1/stream sends and resumes from.
CREATE TABLE changes (
    seq      INTEGER PRIMARY KEY,
    tenant   TEXT NOT NULL,
    order_id TEXT NOT NULL,
    body     TEXT NOT NULL
);
-- No tenant index: resuming reads a seq range (the rowid) and filters by tenant.

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
