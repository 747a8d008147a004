-- Maintenance mode and the instance's own jobs (the daily backup).

-- The whole installation is down for maintenance while this one row exists
-- (`orderdesk down`; `orderdesk up` deletes it). The bypass secret is kept only
-- as an HMAC under the instance key (model.Store.MaintenanceSecretHash): a copy
-- of the database does not give it away. An empty hash: no bypass at all.
CREATE TABLE instance_maintenance (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    secret_hash   TEXT NOT NULL DEFAULT '',
    retry_seconds INTEGER NOT NULL CHECK (retry_seconds BETWEEN 1 AND 86400),
    message       TEXT NOT NULL DEFAULT '',
    since         TIMESTAMP NOT NULL
);

-- A shop its owner closed to customers (Settings → Maintenance); its staff keep
-- working in /admin. One row per closed shop; opening it deletes the row.
CREATE TABLE tenant_maintenance (
    tenant_id   INTEGER PRIMARY KEY REFERENCES tenants(id),
    message     TEXT NOT NULL DEFAULT '',
    since       TIMESTAMP NOT NULL,
    by_user_id  INTEGER REFERENCES users(id)
);

-- Leases and runs of the instance's jobs: work done once for the installation,
-- not per shop (the backup of the one database file). Their pause for every
-- shop is job_instance_pauses, as for the shops' jobs. A lease row, so that two
-- processes never run one at once.
CREATE TABLE instance_job_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE TABLE instance_job_runs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    processed   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    messages    TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT ''
);
-- `orderdesk jobs list` and the scheduler read a job's latest runs.
CREATE INDEX instance_job_runs_name_idx ON instance_job_runs (name, id);
