-- What the exception rules filter and rank orders on that is no status: the sales channel, the
-- warehouse and the order's value, from events' attributes (`channel`, `warehouse_id` or
-- `warehouse`, `order_value`). One row per order that ever named one. Each field keeps the
-- value of the latest event (by event time) that named it, so the row does not depend on the
-- order events arrive in.
CREATE TABLE order_attrs (
    tenant       TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    channel      TEXT,
    channel_ns   INTEGER,
    warehouse    TEXT,
    warehouse_ns INTEGER,
    order_value  REAL,
    value_ns     INTEGER,
    PRIMARY KEY (tenant, order_id)
) WITHOUT ROWID;
