-- Vendor documents kept for people to look at: those that held a code no mapping knew (the
-- events are stored with status unknown and listed in `unmapped`), and those that could not be
-- read at all (`problem` says why). Kept as received, so they can be replayed once a mapping or
-- an adapter is fixed.
CREATE TABLE documents (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    received_ns INTEGER NOT NULL,
    problem     TEXT,
    -- Set once a replay of a rejected document was accepted.
    replayed_ns INTEGER,
    body        BLOB    NOT NULL
);
CREATE INDEX documents_rejected ON documents (tenant, id) WHERE problem IS NOT NULL;

-- One row per unmapped code of a stored event: the quarantine.
CREATE TABLE unmapped (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,  -- status | reason
    code        TEXT    NOT NULL,
    event_seq   INTEGER NOT NULL REFERENCES events (seq),
    document_id INTEGER REFERENCES documents (id),
    received_ns INTEGER NOT NULL,
    -- Set when a remap stored the corrected event (its log position in resolved_seq).
    resolved_ns INTEGER,
    resolved_seq INTEGER
);
CREATE INDEX unmapped_open ON unmapped (tenant, id) WHERE resolved_ns IS NULL;
CREATE INDEX unmapped_tenant ON unmapped (tenant, id);
