"""Schema migrations, applied in order at start; PRAGMA user_version records how far we got.

Append new steps; never edit one that has shipped.
"""
from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the citizen journey.
    """
    CREATE TABLE citizens (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL CHECK (platform IN ('telegram', 'bale')),
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        neighbourhood_id TEXT,
        -- HMAC-SHA256 of the normalized number: one phone backs one voter on both messengers.
        phone_hash TEXT UNIQUE,
        verified_at TEXT,
        -- Set on the first vote ever; the neighbourhood cannot change after it.
        first_vote_at TEXT,
        remind_me INTEGER NOT NULL DEFAULT 0 CHECK (remind_me IN (0, 1)),
        created_at TEXT NOT NULL,
        UNIQUE (platform, user_id)
    );

    CREATE TABLE proposals (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        citizen_id INTEGER NOT NULL REFERENCES citizens(id),
        platform TEXT NOT NULL,
        neighbourhood_id TEXT NOT NULL,
        category_id TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        photo_file_id TEXT,
        latitude REAL,
        longitude REAL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
        reject_reason TEXT,
        created_at TEXT NOT NULL,
        decided_at TEXT,
        decided_by TEXT,
        CHECK ((latitude IS NULL) = (longitude IS NULL)),
        CHECK (status != 'rejected' OR reject_reason IS NOT NULL)
    );
    CREATE INDEX proposals_by_neighbourhood ON proposals (neighbourhood_id, status, id);
    CREATE INDEX proposals_by_citizen ON proposals (citizen_id, id);

    CREATE TABLE votes (
        citizen_id INTEGER NOT NULL REFERENCES citizens(id),
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (citizen_id, proposal_id)
    ) WITHOUT ROWID;
    CREATE INDEX votes_by_proposal ON votes (proposal_id);

    -- A proposal being written: kept here rather than in PTB's user_data so that it survives a
    -- restart without PTB loading every user's data into memory.
    CREATE TABLE drafts (
        citizen_id INTEGER PRIMARY KEY REFERENCES citizens(id),
        category_id TEXT,
        title TEXT,
        description TEXT,
        photo_file_id TEXT,
        latitude REAL,
        longitude REAL,
        updated_at TEXT NOT NULL
    );

    -- Where each proposal's moderation card was posted, to edit them all once someone decides.
    CREATE TABLE staff_cards (
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        platform TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, platform, chat_id)
    );

    -- ConversationHandler states only (see bot/persistence.py).
    CREATE TABLE conversations (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID;
    """,
    # 2: a rejection reason is the staff member's reply to the bot's question, found by the
    # question's message id, so it survives restarts and two pending rejections never mix.
    """
    CREATE TABLE reason_prompts (
        platform TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (platform, chat_id, message_id)
    ) WITHOUT ROWID;
    """,
    # 3: whether the author has heard the moderation outcome; start-up retells the rest.
    """
    ALTER TABLE proposals ADD COLUMN author_told_at TEXT;
    UPDATE proposals SET author_told_at = decided_at WHERE status != 'pending';
    """,
]
