"""The SQLite schema. Times are integer milliseconds since the epoch (UTC)."""

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS apps (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL,
    checksum TEXT, sdk TEXT, framework TEXT, app_version TEXT,
    synced_at INTEGER, error TEXT, sync_id TEXT
);

CREATE TABLE IF NOT EXISTS functions (
    id TEXT PRIMARY KEY, app_id TEXT NOT NULL, slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL, config TEXT NOT NULL, version INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sync_log (
    id TEXT PRIMARY KEY, app_name TEXT, url TEXT, at INTEGER NOT NULL,
    ok INTEGER NOT NULL, modified INTEGER NOT NULL DEFAULT 0, error TEXT
);

-- A retried POST with the same id seed stores the event again under the same
-- internal id (as the Dev Server does), hence no uniqueness on internal_id.
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, internal_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    body TEXT NOT NULL, received_at INTEGER NOT NULL, internal INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_internal_id ON events(internal_id);
CREATE INDEX IF NOT EXISTS events_by_name ON events(name, internal_id);
CREATE INDEX IF NOT EXISTS events_by_received ON events(internal, received_at);

CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, function_id TEXT NOT NULL, slug TEXT NOT NULL,
    function_version INTEGER NOT NULL, status TEXT NOT NULL,
    event_id TEXT NOT NULL, events TEXT NOT NULL, batch_id TEXT, cron TEXT,
    started_at INTEGER NOT NULL, first_call_at INTEGER, ended_at INTEGER, output TEXT,
    correlation_id TEXT, keys TEXT NOT NULL, pending TEXT NOT NULL DEFAULT '[]',
    step_count INTEGER NOT NULL DEFAULT 0, state_bytes INTEGER NOT NULL DEFAULT 0,
    singleton_key TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_slug ON runs(slug, run_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status, run_id);
CREATE INDEX IF NOT EXISTS runs_by_slug_status ON runs(slug, status, run_id);
CREATE INDEX IF NOT EXISTS runs_by_event ON runs(event_id);
CREATE INDEX IF NOT EXISTS runs_singleton ON runs(slug, singleton_key, status)
    WHERE singleton_key IS NOT NULL;

CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL, step_id TEXT NOT NULL, seq INTEGER NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, started_at INTEGER, ended_at INTEGER,
    done INTEGER NOT NULL DEFAULT 0, memo TEXT, error TEXT, opts TEXT,
    PRIMARY KEY (run_id, step_id)
);

CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY, run_id TEXT, kind TEXT NOT NULL, step_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL, data TEXT,
    dedupe TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS queue_by_due ON queue(due_at);
CREATE INDEX IF NOT EXISTS queue_by_run ON queue(run_id);

-- Items that failed inside the engine too often; kept for an operator, never retried.
CREATE TABLE IF NOT EXISTS parked (
    id INTEGER PRIMARY KEY, run_id TEXT, kind TEXT NOT NULL, step_id TEXT,
    attempt INTEGER NOT NULL, data TEXT, error TEXT NOT NULL, failures INTEGER NOT NULL,
    parked_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS parked_by_run ON parked(run_id);

CREATE TABLE IF NOT EXISTS waits (
    run_id TEXT NOT NULL, step_id TEXT NOT NULL, kind TEXT NOT NULL,
    event_name TEXT, expr TEXT, correlation_id TEXT,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
CREATE INDEX IF NOT EXISTS waits_by_name ON waits(event_name) WHERE kind = 'event';
CREATE INDEX IF NOT EXISTS waits_by_correlation ON waits(correlation_id) WHERE kind = 'invoke';

CREATE TABLE IF NOT EXISTS cancel_rules (
    run_id TEXT NOT NULL, idx INTEGER NOT NULL, event_name TEXT NOT NULL,
    expr TEXT, expires_at INTEGER NOT NULL, PRIMARY KEY (run_id, idx)
);
CREATE INDEX IF NOT EXISTS cancel_rules_by_name ON cancel_rules(event_name);

CREATE TABLE IF NOT EXISTS run_keys (
    scope TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE IF NOT EXISTS debounces (
    function_id TEXT NOT NULL, key TEXT NOT NULL, event TEXT NOT NULL,
    internal_id TEXT NOT NULL, first_at INTEGER NOT NULL, PRIMARY KEY (function_id, key)
);

CREATE TABLE IF NOT EXISTS batches (
    function_id TEXT NOT NULL, key TEXT NOT NULL, batch_id TEXT NOT NULL,
    events TEXT NOT NULL, internal_id TEXT NOT NULL, first_at INTEGER NOT NULL,
    PRIMARY KEY (function_id, key)
);

CREATE TABLE IF NOT EXISTS cancellations (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, function_id TEXT NOT NULL,
    started_after INTEGER, started_before INTEGER NOT NULL, expr TEXT,
    created_at INTEGER NOT NULL
);
"""
