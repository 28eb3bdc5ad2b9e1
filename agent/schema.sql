-- The agent's store (agent/store.py): one SQLite file, WAL. Idempotent to apply.
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    context TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq INTEGER NOT NULL,
    user_text TEXT NOT NULL,
    status TEXT NOT NULL,
    stop_reason TEXT,
    reply TEXT,
    outcome TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    UNIQUE (conversation_id, seq)
);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL,
    turn_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (turn_id, idx)
);
CREATE TABLE IF NOT EXISTS tool_calls (
    turn_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (turn_id, step_id)
);
CREATE TABLE IF NOT EXISTS ledger (
    key TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    turn_id TEXT NOT NULL,
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    reserved_usd REAL NOT NULL,
    settled_usd REAL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_conversation ON ledger (conversation_id);
CREATE INDEX IF NOT EXISTS ledger_turn ON ledger (turn_id);
CREATE INDEX IF NOT EXISTS ledger_day ON ledger (day);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    turn_id TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_conversation ON events (conversation_id, seq);
CREATE TABLE IF NOT EXISTS drafts (
    skill_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    updated_at REAL NOT NULL
);
