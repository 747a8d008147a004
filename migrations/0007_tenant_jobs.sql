-- Every shop's jobs are its own: a job runs once per shop, and its lease, its
-- pause and its runs belong to that shop. A pause for every shop at once is the
-- instance operator's (the CLI's `orderdesk jobs pause NAME`), in its own table.

-- Leases and pauses per (shop, job). A job that was paused for everybody stays
-- paused in every shop, so that nothing starts by surprise; each shop may resume
-- its own. Leases themselves are not carried over: an old one only expires.
CREATE TABLE job_leases_by_tenant (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    PRIMARY KEY (tenant_id, name)
);
INSERT INTO job_leases_by_tenant (tenant_id, name, holder, expires_at, paused)
    SELECT t.id, l.name, '', l.expires_at, 1 FROM job_leases l CROSS JOIN tenants t WHERE l.paused = 1;
DROP TABLE job_leases;
ALTER TABLE job_leases_by_tenant RENAME TO job_leases;

-- The instance operator's pauses: a job named here runs for no shop.
CREATE TABLE job_instance_pauses (
    name       TEXT PRIMARY KEY,
    paused_at  TIMESTAMP NOT NULL
);

-- Runs per shop. The old runs mixed every shop's orders in their messages and
-- cannot be told apart, so they are dropped rather than shown to one shop
-- (they were pruned after 30 days anyway).
DROP TABLE job_runs;
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    processed   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    messages    TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT ''
);
-- The jobs page reads a shop's latest runs of each job; the pruning drops a
-- shop's runs by age.
CREATE INDEX job_runs_tenant_name_idx ON job_runs (tenant_id, name, id);
CREATE INDEX job_runs_tenant_started_idx ON job_runs (tenant_id, started_at);
