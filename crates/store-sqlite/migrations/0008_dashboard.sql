-- The operations dashboard and the customer tracking page (docs/dashboard.md).

-- Every order's customer link: a random, unguessable token (128 bits as 32 lowercase hex
-- characters), written in the apply transaction that first writes the order's row. The token
-- is the whole key of the public page, so it is the primary key; one link per order.
CREATE TABLE tracking_links (
    token    TEXT NOT NULL PRIMARY KEY,
    tenant   TEXT NOT NULL,
    order_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX tracking_links_order ON tracking_links (tenant, order_id);
-- Orders written before this migration get theirs now.
INSERT INTO tracking_links (token, tenant, order_id)
    SELECT lower(hex(randomblob(16))), tenant, order_id FROM orders;

-- What the map draws of each *active* order (status not delivered, returned, cancelled or
-- lost), kept by the apply transaction from the order's view so the map's load reads narrow
-- rows instead of decoding every order's state: its latest position (null when unknown), its
-- first carrier, its shipments' destination and origin. A row leaves when its order closes.
CREATE TABLE order_positions (
    tenant     TEXT    NOT NULL,
    order_id   TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    lat        REAL,
    lon        REAL,
    carrier    TEXT,
    dest_lat   REAL,
    dest_lon   REAL,
    origin_lat REAL,
    origin_lon REAL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, order_id)
) WITHOUT ROWID;

-- Carrier performance: one row per delivered shipment (stream), written by the apply
-- transaction of any event of its order, as a function of the order's events and folded
-- state, so re-delivery and arrival order change nothing. `delivered_ns` is the shipment's
-- earliest `delivered` event: a regression out of delivered and a re-delivery keep the first.
-- `shipped_ns` is its earliest `shipped`/`in_transit` event (its own or the order's). Lane
-- ends are `CC` or `CC-REGION`.
CREATE TABLE shipment_outcomes (
    tenant       TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    track        TEXT    NOT NULL,
    carrier      TEXT,
    origin       TEXT,
    destination  TEXT,
    shipped_ns   INTEGER,
    delivered_ns INTEGER NOT NULL,
    promised_ns  INTEGER,
    PRIMARY KEY (tenant, order_id, track)
) WITHOUT ROWID;
CREATE INDEX shipment_outcomes_delivered ON shipment_outcomes (tenant, delivered_ns);

-- 0 until the positions and outcomes of the orders written before this migration are filled
-- in from their stored state (in Rust, at open: SQL cannot decode the state).
INSERT INTO meta (key, value) VALUES ('dashboard_backfill', 0);
