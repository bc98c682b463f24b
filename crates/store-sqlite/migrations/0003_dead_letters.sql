-- Rejected documents become dead letters: a payload that keeps failing (a partner polled again
-- and again answering the same broken body) is one letter with a count of attempts and its first
-- and last time, not a new row per attempt. `origin` says how it came in (webhook, file, api,
-- poll:<connector>), so an operator can tell a broken partner from a broken adapter.
ALTER TABLE documents ADD COLUMN body_hash BLOB;
ALTER TABLE documents ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN last_ns INTEGER;
ALTER TABLE documents ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX documents_dead_letter ON documents (tenant, source, body_hash)
    WHERE problem IS NOT NULL AND replayed_ns IS NULL;
