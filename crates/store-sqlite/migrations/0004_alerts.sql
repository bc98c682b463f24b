-- Exception detection: the rules' pending deadlines and the alerts they raise.

-- One row per pending deadline of a rule for an order ('' track) or one of its shipments.
-- Keyed by rule name, not id: ids change when the rules reload. The primary key serves "all of
-- one order" by its prefix; the start-up load is a plain scan.
CREATE TABLE deadlines (
    tenant   TEXT    NOT NULL,
    order_id TEXT    NOT NULL,
    track    TEXT    NOT NULL DEFAULT '',
    rule     TEXT    NOT NULL,
    due_ns   INTEGER NOT NULL,
    -- The deadline came due and its alert was raised: kept (not deleted) so the same deadline,
    -- recomputed from unchanged facts, is not armed again.
    fired    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, order_id, track, rule)
) WITHOUT ROWID;

-- The timer's read: what is due by now, earliest first. The detector keeps every pending
-- deadline's time in memory; this index serves the rows themselves when they fire.
CREATE INDEX deadlines_due ON deadlines (due_ns) WHERE fired = 0;

CREATE TABLE alerts (
    id                INTEGER PRIMARY KEY,
    tenant            TEXT    NOT NULL,
    order_id          TEXT    NOT NULL,
    track             TEXT    NOT NULL DEFAULT '',
    rule              TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    severity          TEXT    NOT NULL,
    -- The partial index below depends on this vocabulary, so the schema holds it too.
    status            TEXT    NOT NULL
        CHECK (status IN ('open', 'acknowledged', 'snoozed', 'resolved')),
    assignee          TEXT,
    snoozed_until_ns  INTEGER,
    triggers          INTEGER NOT NULL,
    -- The deadline that fired, for timed rules.
    due_ns            INTEGER,
    -- World time (the detector's clock), not the server's.
    opened_ns         INTEGER NOT NULL,
    last_triggered_ns INTEGER NOT NULL,
    resolved_ns       INTEGER,
    -- How it ended, as the lifecycle serializes it (by a person with a note, or automatically
    -- with a reason); false_positive is a column of its own so it can be counted.
    resolution        TEXT,
    false_positive    INTEGER NOT NULL DEFAULT 0,
    carrier           TEXT,
    order_value       REAL,
    promised_ns       INTEGER,
    summary           TEXT    NOT NULL,
    impact            REAL    NOT NULL DEFAULT 0,
    -- Bumped by every change: optimistic concurrency for people's updates.
    version           INTEGER NOT NULL,
    -- Server clock of the last write.
    updated_ns        INTEGER NOT NULL
);
-- The invariant: at most one alert per subject and rule that is not resolved. A repeated
-- trigger lands on it (INSERT ... ON CONFLICT), and a new event's recheck finds an order's
-- open alerts by its prefix.
CREATE UNIQUE INDEX alerts_unresolved ON alerts (tenant, order_id, track, rule)
    WHERE status <> 'resolved';
-- The review queue: one tenant's alerts in some statuses, most important first.
CREATE INDEX alerts_status ON alerts (tenant, status, impact DESC, opened_ns);
-- Newest/oldest listings and the age filter.
CREATE INDEX alerts_opened ON alerts (tenant, opened_ns);
-- Snoozed alerts by when they wake: the detector's timer for them.
CREATE INDEX alerts_snoozed ON alerts (snoozed_until_ns) WHERE status = 'snoozed';

-- Every change of an alert: who, when, what. Append-only, numbered from 1 per alert.
CREATE TABLE alert_audit (
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    n        INTEGER NOT NULL,
    at_ns    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    PRIMARY KEY (alert_id, n)
) WITHOUT ROWID;

-- Alerts per tenant, status and severity, kept by the same transactions that write alerts, so
-- /metrics reads a handful of rows instead of counting a history that only grows.
CREATE TABLE alert_tally (
    tenant   TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    severity TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (tenant, status, severity)
) WITHOUT ROWID;
