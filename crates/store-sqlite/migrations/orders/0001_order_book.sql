-- The order book (orders.db): orders as they entered, their versions, the gates' verdicts, the
-- intake queue's audit, and the catalogue and stock the gates consult. Its own file, because
-- its own writer (the order-intake service) must never wait on the event log's.

-- One row per order: its current version's summary, what the queue sorts and filters by.
CREATE TABLE intake_orders (
    tenant          TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    impact          REAL    NOT NULL,
    value           REAL,
    currency        TEXT,
    promised_ns     INTEGER,
    version         INTEGER NOT NULL,
    -- The current version's channel time (NULL sorts first: a version with a time wins).
    updated_ns      INTEGER,
    received_ns     INTEGER NOT NULL,
    status_ns       INTEGER NOT NULL,
    -- What set the status: `received` (the gates, at a version's arrival) or a person's or
    -- the stock's action (`released`, `rejected`, `revalidated`, `stock_arrived`).
    status_action   TEXT    NOT NULL DEFAULT 'received',
    fingerprint     TEXT    NOT NULL,
    emitted_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, order_id)
) WITHOUT ROWID;
CREATE INDEX intake_orders_queue ON intake_orders (tenant, status, impact DESC, order_id);
CREATE INDEX intake_orders_fingerprint ON intake_orders (tenant, fingerprint, received_ns);
CREATE INDEX intake_orders_unemitted ON intake_orders (emitted_version, version)
    WHERE emitted_version < version;

-- Every distinct version an order arrived in, with its decision.
CREATE TABLE intake_versions (
    tenant       TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,
    updated_ns   INTEGER,
    received_ns  INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    decision     TEXT    NOT NULL,
    shadow       TEXT,
    PRIMARY KEY (tenant, order_id, version)
) WITHOUT ROWID;
CREATE UNIQUE INDEX intake_versions_hash ON intake_versions (tenant, order_id, content_hash);

-- Transport delivery ids seen (X-Shopify-Webhook-Id, BigCommerce hash, X12 control numbers).
CREATE TABLE intake_deliveries (
    tenant      TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    delivery    TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    received_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, channel, delivery)
) WITHOUT ROWID;

-- The gates' verdicts per version (enforced = the profile in force; 0 = the shadow profile).
CREATE TABLE intake_findings (
    tenant         TEXT    NOT NULL,
    order_id       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    enforced       INTEGER NOT NULL,
    check_name     TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    layer          TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    account        TEXT    NOT NULL,
    at_ns          INTEGER NOT NULL,
    false_positive INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, order_id, version, enforced, check_name)
) WITHOUT ROWID;
CREATE INDEX intake_findings_at ON intake_findings (tenant, at_ns);

CREATE TABLE intake_audit (
    tenant   TEXT    NOT NULL,
    order_id TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    at_ns    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    PRIMARY KEY (tenant, order_id, seq)
) WITHOUT ROWID;

-- What a backordered order waits for.
CREATE TABLE intake_waiting (
    tenant   TEXT NOT NULL,
    sku      TEXT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (tenant, sku, order_id)
) WITHOUT ROWID;

CREATE TABLE catalogue (
    tenant TEXT NOT NULL,
    sku    TEXT NOT NULL,
    title  TEXT,
    PRIMARY KEY (tenant, sku)
) WITHOUT ROWID;

CREATE TABLE stock (
    tenant     TEXT    NOT NULL,
    sku        TEXT    NOT NULL,
    warehouse  TEXT    NOT NULL,
    available  REAL    NOT NULL,
    counted_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, sku, warehouse)
) WITHOUT ROWID;
