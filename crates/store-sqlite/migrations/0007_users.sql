-- People who log in to the dashboard, and their sessions. A user belongs to one tenant; the
-- email is kept lower-cased so (tenant, email) is unique however it was typed.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator')),
    -- An argon2id PHC string: algorithm, parameters and salt travel with the hash.
    password_hash TEXT    NOT NULL,
    created_ns    INTEGER NOT NULL,
    disabled_ns   INTEGER,
    UNIQUE (tenant, email)
);

-- Only the SHA-256 of the cookie's random value is kept: a copy of this table does not let
-- anyone in. Rows are deleted at logout, when the user is disabled or reset, and once expired.
CREATE TABLE sessions (
    token_hash  BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    tenant      TEXT    NOT NULL,
    csrf_token  TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL,
    expires_ns  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_ns);
