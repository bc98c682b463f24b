-- Notifications (issue 6): where they go (endpoints, subscriptions), whom they may reach
-- (contacts), what is to be sent (the transactional outbox, written by the same transaction as
-- the state change that caused it) and what sending cost (SMS spend).

-- A destination: a webhook URL, an email or an SMS recipient. The spec is the notification
-- crate's JSON, kept as text: the store does not read it. Names are how operators refer to an
-- endpoint, so they are unique per tenant.
CREATE TABLE notify_endpoints (
    id              INTEGER PRIMARY KEY,
    tenant          TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    spec            TEXT    NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    -- Why it was disabled (a 410 Gone from the receiver, or an operator's words).
    disabled_reason TEXT,
    created_ns      INTEGER NOT NULL,
    updated_ns      INTEGER NOT NULL,
    UNIQUE (tenant, name)
);

-- Which transitions go to which endpoint. Triggers (a JSON array of names) and the filter (a
-- JSON object) are the notification crate's; the planner loads every row at start.
CREATE TABLE notify_subscriptions (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    endpoint_id INTEGER NOT NULL REFERENCES notify_endpoints (id),
    triggers    TEXT    NOT NULL,
    filter      TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_ns  INTEGER NOT NULL,
    UNIQUE (tenant, name)
);
-- Deleting an endpoint deletes its subscriptions first (by hand, in the same transaction: the
-- store does not rely on the connection enforcing foreign keys, nor on cascades).
CREATE INDEX notify_subscriptions_endpoint ON notify_subscriptions (endpoint_id);

-- A customer's contact details and opt-outs, keyed by the customer id orders carry. Read once
-- per planned message (the opt-out check) and once more right before sending.
CREATE TABLE contacts (
    tenant      TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    email       TEXT,
    phone       TEXT,
    locale      TEXT,
    -- JSON array of channel kinds the customer opted out of.
    opted_out   TEXT    NOT NULL DEFAULT '[]',
    updated_ns  INTEGER NOT NULL,
    PRIMARY KEY (tenant, customer_id)
) WITHOUT ROWID;

-- The transactional outbox: one row per notification to send. `apply` inserts a change's rows
-- in the transaction that writes the change, so a state change and its notifications commit
-- together or not at all; the dispatcher reads pending rows and reports back how each went.
-- `id` is insertion order, which is state order for one order: per-order FIFO compares ids.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    tenant          TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    -- The change's seq (an alert's id for an alert's notification).
    seq             INTEGER NOT NULL,
    subscription_id INTEGER NOT NULL,
    endpoint_id     INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    trigger         TEXT    NOT NULL,
    -- The idempotency key (the receiver's webhook-id): re-applying the same events, or planning
    -- the same notification twice, inserts nothing (INSERT OR IGNORE on this constraint).
    msg_id          TEXT    NOT NULL UNIQUE,
    -- What is sent, frozen at plan time.
    payload         TEXT    NOT NULL,
    -- The partial indexes below depend on this vocabulary, so the schema holds it too.
    state           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'dead', 'skipped', 'superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- When it may go out next. Kept so that a pending row is never due before an older pending
    -- row of its (tenant, subscription, order): then the earliest next_ns of all pending rows
    -- is when something can really be sent, and a blocked row does not keep the dispatcher
    -- awake.
    next_ns         INTEGER NOT NULL,
    created_ns      INTEGER NOT NULL,
    -- When it left 'pending' (sent, dead, skipped).
    done_ns         INTEGER,
    last_code       INTEGER,
    last_error      TEXT
);
-- The dispatcher's poll: pending rows by when they are due. Partial, so sent history (the bulk
-- of the table) is never in it and the index stays the size of the backlog.
CREATE INDEX outbox_due ON outbox (next_ns) WHERE state = 'pending';
-- Per-order FIFO: "is there an older pending row of the same subscription and order?" is one
-- probe of this index, as is pushing a row's followers' next_ns when it is retried.
CREATE INDEX outbox_fifo ON outbox (tenant, subscription_id, order_id, id)
    WHERE state = 'pending';
-- One order's delivery log.
CREATE INDEX outbox_order ON outbox (tenant, order_id, id);
-- The dead letters, paged by id.
CREATE INDEX outbox_dead ON outbox (tenant, id) WHERE state = 'dead';
-- An endpoint's pending rows: due at once when its breaker closes, skipped when it is deleted.
CREATE INDEX outbox_endpoint ON outbox (endpoint_id, next_ns) WHERE state = 'pending';

-- Rows per tenant and state for /metrics, kept by triggers so every write of `state` counts,
-- whichever statement makes it, and a scrape reads a handful of rows instead of counting a
-- history that only grows. A combination once counted stays, at 0, so a gauge drops to zero
-- instead of vanishing.
CREATE TABLE outbox_tally (
    tenant TEXT    NOT NULL,
    state  TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (tenant, state)
) WITHOUT ROWID;
CREATE TRIGGER outbox_tally_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO outbox_tally (tenant, state, n) VALUES (NEW.tenant, NEW.state, 1)
        ON CONFLICT (tenant, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_tally_update AFTER UPDATE OF state ON outbox
    WHEN OLD.state <> NEW.state BEGIN
    UPDATE outbox_tally SET n = n - 1 WHERE tenant = OLD.tenant AND state = OLD.state;
    INSERT INTO outbox_tally (tenant, state, n) VALUES (NEW.tenant, NEW.state, 1)
        ON CONFLICT (tenant, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_tally_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_tally SET n = n - 1 WHERE tenant = OLD.tenant AND state = OLD.state;
END;

-- Every delivery attempt of a notification, numbered from 1 per row (the store numbers them:
-- the row's attempts + 1), kept across a replay.
CREATE TABLE outbox_attempts (
    outbox_id  INTEGER NOT NULL REFERENCES outbox (id),
    n          INTEGER NOT NULL,
    started_ns INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    -- HTTP status or SMTP reply code, when the receiver answered.
    code       INTEGER,
    error      TEXT,
    PRIMARY KEY (outbox_id, n)
) WITHOUT ROWID;

-- SMS spent per tenant and local calendar day (YYYY-MM-DD): the spend cap's ledger, added to
-- by the dispatcher's marks in the transaction that records the sends.
CREATE TABLE sms_spend (
    tenant   TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    segments INTEGER NOT NULL DEFAULT 0,
    cents    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, day)
) WITHOUT ROWID;

-- What notifications filter on and whom they reach, from events' attributes. Each customer
-- field keeps the value of the latest event (by event time) that named it, like `channel`; tags
-- are the union of every event's `tags` (a JSON array, sorted, deduplicated, at most the 32
-- smallest of at most 64 characters each), so the row never depends on arrival order.
ALTER TABLE order_attrs ADD COLUMN customer_id       TEXT;
ALTER TABLE order_attrs ADD COLUMN customer_id_ns    INTEGER;
ALTER TABLE order_attrs ADD COLUMN customer_email    TEXT;
ALTER TABLE order_attrs ADD COLUMN customer_email_ns INTEGER;
ALTER TABLE order_attrs ADD COLUMN customer_phone    TEXT;
ALTER TABLE order_attrs ADD COLUMN customer_phone_ns INTEGER;
ALTER TABLE order_attrs ADD COLUMN tags              TEXT;
