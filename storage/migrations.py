"""Schema migrations, applied in order at start; PRAGMA user_version records how far we got.

Append new steps; never edit one that has shipped.
"""
from __future__ import annotations

# /stats's counters counted from the rows (entry 14; PostgreSQL's stats_recount() runs the same).
STATS_BACKFILL = """
    INSERT INTO stats_places (neighbourhood_id, platform, citizens, verified, voters, votes)
        SELECT coalesce(c.neighbourhood_id, ''), c.platform, count(*), count(c.phone_hash),
               count(v.citizen_id), coalesce(sum(v.n), 0)
        FROM citizens c LEFT JOIN (SELECT citizen_id, count(*) AS n FROM votes GROUP BY citizen_id) v
            ON v.citizen_id = c.id
        GROUP BY coalesce(c.neighbourhood_id, ''), c.platform;
    INSERT INTO stats_days (day, citizens, verified, voters, votes)
        SELECT day, sum(c), sum(f), sum(r), sum(n) FROM (
            SELECT date(created_at, '+210 minutes') AS day, 1 AS c, 0 AS f, 0 AS r, 0 AS n FROM citizens
            UNION ALL SELECT date(verified_at, '+210 minutes'), 0, 1, 0, 0 FROM citizens WHERE verified_at IS NOT NULL
            UNION ALL SELECT date(min(created_at), '+210 minutes'), 0, 0, 1, 0 FROM votes GROUP BY citizen_id
            UNION ALL SELECT date(created_at, '+210 minutes'), 0, 0, 0, 1 FROM votes) x
        WHERE day IS NOT NULL  -- a time date() cannot read leaves its row out of the days, not the upgrade
        GROUP BY day;
"""

# The proposals' counters counted from the rows (entry 16; PostgreSQL's stats_recount_proposals()).
PROPOSALS_BACKFILL = """
    INSERT INTO stats_places (neighbourhood_id, platform, pending, approved, rejected, on_ballot)
        SELECT neighbourhood_id, platform, count(*) FILTER (WHERE status = 'pending'),
               count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'rejected'),
               count(*) FILTER (WHERE status = 'approved' AND feasibility = 'feasible' AND cost IS NOT NULL)
        FROM proposals WHERE true GROUP BY neighbourhood_id, platform
        ON CONFLICT (neighbourhood_id, platform) DO UPDATE SET pending = excluded.pending,
            approved = excluded.approved, rejected = excluded.rejected, on_ballot = excluded.on_ballot;
    INSERT INTO stats_days (day, proposals)
        SELECT date(created_at, '+210 minutes'), count(*) FROM proposals
        WHERE date(created_at, '+210 minutes') IS NOT NULL GROUP BY 1
        ON CONFLICT (day) DO UPDATE SET proposals = excluded.proposals;
"""

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

    -- ConversationHandler states only (see bot/messenger/persistence.py).
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
    # 4: broadcasts with one delivery row per recipient, the campaign calendar's announcements,
    # moved boundaries, and a lease so that only one process sends.
    """
    -- Set when the messenger answers 403 (blocked) or "chat not found"; cleared when they write again.
    ALTER TABLE citizens ADD COLUMN unreachable_since TEXT;

    -- Filled by the ambassador programme; broadcasts can already address approved ambassadors.
    CREATE TABLE ambassadors (
        citizen_id INTEGER PRIMARY KEY REFERENCES citizens(id),
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'suspended', 'removed')),
        created_at TEXT NOT NULL
    );

    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
        -- The calendar announcement this broadcast is; UNIQUE makes each one happen once.
        announcement TEXT UNIQUE,
        created_by TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'photo', 'video', 'document')),
        -- The text or caption; entities (JSON) keep its formatting on the messenger it came from.
        text TEXT,
        entities TEXT,
        source_platform TEXT,
        file_id TEXT,
        audience TEXT,
        send_at TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        cancelled_by TEXT,
        total INTEGER
    );
    CREATE INDEX broadcasts_by_status ON broadcasts (status, send_at);

    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
        citizen_id INTEGER NOT NULL REFERENCES citizens(id),
        platform TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        -- 'sending' is written before the call and replaced after it: a row still 'sending' when
        -- a process starts was in flight at a crash and becomes 'uncertain', never resent.
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'unreachable', 'failed', 'uncertain')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        UNIQUE (broadcast_id, citizen_id)
    );
    CREATE INDEX deliveries_queue ON deliveries (broadcast_id, platform, status, id);
    -- What a dead process left in flight, found at start-up without reading every delivery.
    CREATE INDEX deliveries_in_flight ON deliveries (status) WHERE status = 'sending';

    -- A photo, video or document re-uploaded on the other messenger: its file_id there.
    CREATE TABLE broadcast_files (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
        platform TEXT NOT NULL,
        file_id TEXT NOT NULL,
        PRIMARY KEY (broadcast_id, platform)
    ) WITHOUT ROWID;

    -- Progress messages to keep up to date (the sender's, or the staff chats' for announcements).
    CREATE TABLE broadcast_watchers (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
        platform TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        message_id INTEGER,
        PRIMARY KEY (broadcast_id, platform, chat_id)
    ) WITHOUT ROWID;

    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL
    ) WITHOUT ROWID;

    -- Each announcement of the calendar, once: sent (with its broadcast) or missed.
    CREATE TABLE announcements (
        key TEXT PRIMARY KEY,
        due_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'missed')),
        broadcast_id INTEGER REFERENCES broadcasts(id),
        decided_at TEXT NOT NULL
    ) WITHOUT ROWID;

    -- What an admin's next message answers (a broadcast's content, a time), so the staff flows
    -- survive restarts and never mistake an admin's ordinary messages for input.
    CREATE TABLE staff_inputs (
        platform TEXT NOT NULL,
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        target TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id)
    ) WITHOUT ROWID;

    -- Boundaries moved by admins; the newest row per boundary overrides config.toml.
    CREATE TABLE calendar_moves (
        id INTEGER PRIMARY KEY,
        boundary TEXT NOT NULL,
        old_at TEXT NOT NULL,
        new_at TEXT NOT NULL,
        moved_by TEXT NOT NULL,
        moved_at TEXT NOT NULL
    );
    """,
    # 5: the ambassador programme: applications, invite links, who joined through whom.
    """
    -- Migration 4's placeholder, never written to, becomes the programme's table.
    DROP TABLE ambassadors;
    CREATE TABLE ambassadors (
        citizen_id INTEGER PRIMARY KEY REFERENCES citizens(id),
        status TEXT NOT NULL
            CHECK (status IN ('draft', 'pending', 'approved', 'rejected', 'suspended', 'removed')),
        full_name TEXT,
        neighbourhood_id TEXT,
        groups TEXT,
        -- Readable on purpose (the form says so): staff call their ambassadors. The hash tells
        -- the ambassador's own other accounts apart from people they invited.
        phone TEXT,
        phone_hash TEXT,
        created_at TEXT NOT NULL,
        applied_at TEXT,
        decided_at TEXT,
        decided_by TEXT,
        -- Set once when their joins look manufactured; staff are told once.
        flagged_at TEXT,
        -- When the applicant heard the last decision; start-up retells the rest.
        told_at TEXT,
        CHECK (status = 'draft' OR (full_name IS NOT NULL AND neighbourhood_id IS NOT NULL AND phone IS NOT NULL))
    );
    CREATE INDEX ambassadors_by_status ON ambassadors (status, neighbourhood_id);

    -- Every link an ambassador has had; a revoked one still opens the bot, without attribution.
    CREATE TABLE invite_links (
        payload TEXT PRIMARY KEY,
        ambassador_id INTEGER NOT NULL REFERENCES ambassadors(citizen_id),
        created_at TEXT NOT NULL,
        revoked_at TEXT
    ) WITHOUT ROWID;
    CREATE INDEX invite_links_by_ambassador ON invite_links (ambassador_id, revoked_at);

    -- First touch only: set once, when a new citizen opens an ambassador's link.
    ALTER TABLE citizens ADD COLUMN referred_by INTEGER REFERENCES ambassadors(citizen_id);
    ALTER TABLE citizens ADD COLUMN referred_at TEXT;
    CREATE INDEX citizens_by_referrer ON citizens (referred_by, referred_at) WHERE referred_by IS NOT NULL;

    -- Where each application was posted to staff, to close every copy once someone decides.
    CREATE TABLE ambassador_cards (
        ambassador_id INTEGER NOT NULL REFERENCES ambassadors(citizen_id),
        platform TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (ambassador_id, platform, chat_id)
    ) WITHOUT ROWID;
    """,
    # 6: the staff console: feasibility and cost, duplicates, and the audit log.
    """
    ALTER TABLE proposals ADD COLUMN feasibility TEXT CHECK (feasibility IN ('feasible', 'not_feasible'));
    ALTER TABLE proposals ADD COLUMN feasibility_note TEXT;
    -- In the money unit of config.toml; only feasible proposals with a cost are on the ballot.
    ALTER TABLE proposals ADD COLUMN cost INTEGER CHECK (cost IS NULL OR cost > 0);
    ALTER TABLE proposals ADD COLUMN reviewed_by TEXT;
    ALTER TABLE proposals ADD COLUMN reviewed_at TEXT;
    ALTER TABLE proposals ADD COLUMN duplicate_of INTEGER REFERENCES proposals(id);
    -- Whether the author has heard the feasibility decision.
    ALTER TABLE proposals ADD COLUMN review_told_at TEXT;

    -- Every staff action: who, what, when, before → after.
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before TEXT,
        after TEXT
    );
    CREATE INDEX audit_by_time ON audit (at);
    """,
    # 7: results: each computation, its winners per neighbourhood, and when it was published.
    """
    CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        computed_at TEXT NOT NULL,
        computed_by TEXT NOT NULL,
        published_at TEXT,
        published_by TEXT
    );
    CREATE TABLE result_neighbourhoods (
        result_id INTEGER NOT NULL REFERENCES results(id),
        neighbourhood_id TEXT NOT NULL,
        budget INTEGER NOT NULL,
        spent INTEGER NOT NULL,
        voters INTEGER NOT NULL,
        PRIMARY KEY (result_id, neighbourhood_id)
    ) WITHOUT ROWID;
    CREATE TABLE result_winners (
        result_id INTEGER NOT NULL REFERENCES results(id),
        neighbourhood_id TEXT NOT NULL,
        rank INTEGER NOT NULL,
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        cost INTEGER NOT NULL,
        votes INTEGER NOT NULL,
        PRIMARY KEY (result_id, neighbourhood_id, rank)
    ) WITHOUT ROWID;
    """,
    # 8: the updates already handled, so that one the messenger delivers again after a crash is
    # skipped (bot/messenger/update_journal.py). Only the re-delivery window needs them: pruned to a day.
    """
    CREATE TABLE processed_updates (
        platform TEXT NOT NULL,
        update_id INTEGER NOT NULL,
        processed_at TEXT NOT NULL,
        PRIMARY KEY (platform, update_id)
    ) WITHOUT ROWID;
    CREATE INDEX processed_updates_by_time ON processed_updates (platform, processed_at);
    """,
    # 9: a broadcast's progress kept as counts per messenger and status. Triggers change them in
    # the transaction that changes a delivery row, so they can never disagree with the rows (a
    # crash rolls both back), and reading progress costs a few rows instead of one per recipient.
    # Citizens by neighbourhood: the staff's audience of one neighbourhood without a full scan.
    """
    CREATE TABLE delivery_counts (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
        platform TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (broadcast_id, platform, status)
    ) WITHOUT ROWID;
    INSERT INTO delivery_counts (broadcast_id, platform, status, n)
        SELECT broadcast_id, platform, status, COUNT(*) FROM deliveries GROUP BY broadcast_id, platform, status;
    CREATE TRIGGER deliveries_counted_on_insert AFTER INSERT ON deliveries BEGIN
        INSERT INTO delivery_counts (broadcast_id, platform, status, n)
            VALUES (new.broadcast_id, new.platform, new.status, 1)
            ON CONFLICT (broadcast_id, platform, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER deliveries_counted_on_update AFTER UPDATE OF status ON deliveries
        WHEN old.status != new.status BEGIN
        UPDATE delivery_counts SET n = n - 1
            WHERE broadcast_id = old.broadcast_id AND platform = old.platform AND status = old.status;
        INSERT INTO delivery_counts (broadcast_id, platform, status, n)
            VALUES (new.broadcast_id, new.platform, new.status, 1)
            ON CONFLICT (broadcast_id, platform, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER deliveries_counted_on_delete AFTER DELETE ON deliveries BEGIN
        UPDATE delivery_counts SET n = n - 1
            WHERE broadcast_id = old.broadcast_id AND platform = old.platform AND status = old.status;
    END;

    CREATE INDEX citizens_by_neighbourhood ON citizens (neighbourhood_id);
    """,
    # 10: similar proposals (storage/search.py). search_key is the title's canonical words
    # (messages_fa.normalize.search_key), written with the proposal; NULL for a row written before
    # this step or by a tool, filled on the first search. proposals_fts is an FTS5 trigram index over
    # it (external content: the text lives once, in proposals), kept in step by the triggers.
    # proposal_supports: a citizen's «me too» on a proposal, once per citizen.
    """
    ALTER TABLE proposals ADD COLUMN search_key TEXT;
    CREATE VIRTUAL TABLE proposals_fts USING fts5(search_key, content='proposals', content_rowid='id',
                                                  tokenize='trigram');
    CREATE TRIGGER proposals_fts_on_insert AFTER INSERT ON proposals WHEN new.search_key IS NOT NULL BEGIN
        INSERT INTO proposals_fts (rowid, search_key) VALUES (new.id, new.search_key);
    END;
    CREATE TRIGGER proposals_fts_on_update AFTER UPDATE OF search_key ON proposals BEGIN
        INSERT INTO proposals_fts (proposals_fts, rowid, search_key)
            SELECT 'delete', old.id, old.search_key WHERE old.search_key IS NOT NULL;
        INSERT INTO proposals_fts (rowid, search_key) SELECT new.id, new.search_key WHERE new.search_key IS NOT NULL;
    END;
    CREATE TRIGGER proposals_fts_on_delete AFTER DELETE ON proposals WHEN old.search_key IS NOT NULL BEGIN
        INSERT INTO proposals_fts (proposals_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    END;
    CREATE TABLE proposal_supports (
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        citizen_id INTEGER NOT NULL REFERENCES citizens(id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (proposal_id, citizen_id)
    ) WITHOUT ROWID;
    """,
    # 11: the staff's names as their messenger shows them (first name, @username), kept up to date as they
    # use the bot (handlers/staff_input.remember_staff_name), so /audit names people, not ids. Staff
    # only: citizens' names are never stored.
    """
    CREATE TABLE staff_names (
        actor TEXT PRIMARY KEY,
        first_name TEXT NOT NULL,
        username TEXT,
        seen_at TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 12: a voice note as a proposal's description (issue 16, §4): its file id, length in seconds and
    # the messenger it was sent on (a file id is valid on that one only); title_by_staff (1) when
    # the citizen asked staff to write the title; voice_transcript, an optional machine draft for
    # staff. voice_copies: the voice uploaded to the other messenger for its staff, kept so it is
    # downloaded and uploaded once.
    """
    ALTER TABLE drafts ADD COLUMN voice_file_id TEXT;
    ALTER TABLE drafts ADD COLUMN voice_duration INTEGER;
    ALTER TABLE drafts ADD COLUMN voice_platform TEXT;
    ALTER TABLE drafts ADD COLUMN title_by_staff INTEGER;
    ALTER TABLE proposals ADD COLUMN voice_file_id TEXT;
    ALTER TABLE proposals ADD COLUMN voice_duration INTEGER;
    ALTER TABLE proposals ADD COLUMN voice_platform TEXT;
    ALTER TABLE proposals ADD COLUMN title_by_staff INTEGER;
    ALTER TABLE proposals ADD COLUMN voice_transcript TEXT;
    CREATE TABLE voice_copies (
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        platform TEXT NOT NULL,
        file_id TEXT NOT NULL,
        PRIMARY KEY (proposal_id, platform)
    ) WITHOUT ROWID;
    """,
    # 13: a proposal's photo uploaded to the other messenger for its voters' details view (kept, as
    # voice_copies, so it is downloaded and uploaded once per messenger).
    """
    CREATE TABLE photo_copies (
        proposal_id INTEGER NOT NULL REFERENCES proposals(id),
        platform TEXT NOT NULL,
        file_id TEXT NOT NULL,
        PRIMARY KEY (proposal_id, platform)
    ) WITHOUT ROWID;
    """,
    # 14: /stats from counters (storage/stats.py), not from a scan of every citizen and vote (36 s at
    # 2,000,000 citizens on PostgreSQL). Per (neighbourhood, messenger): citizens, verified, voters
    # (at least one vote standing), votes; per day (of UTC+03:30, Asia/Tehran: the counted zone, see
    # storage/stats.COUNTED_TZ_MINUTES): citizens who joined, phones verified, voters by their earliest
    # vote standing, votes cast. Triggers change them in the statement that changes the rows, so they
    # never disagree with them; neighbourhood '' is "none chosen" (a key cannot be NULL).
    ("""
    CREATE TABLE stats_places (
        neighbourhood_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        citizens INTEGER NOT NULL DEFAULT 0,
        verified INTEGER NOT NULL DEFAULT 0,
        voters INTEGER NOT NULL DEFAULT 0,
        votes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (neighbourhood_id, platform)
    ) WITHOUT ROWID;
    CREATE TABLE stats_days (
        day TEXT NOT NULL PRIMARY KEY,
        citizens INTEGER NOT NULL DEFAULT 0,
        verified INTEGER NOT NULL DEFAULT 0,
        voters INTEGER NOT NULL DEFAULT 0,
        votes INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
""" + STATS_BACKFILL + """
    CREATE TRIGGER stats_citizen_added AFTER INSERT ON citizens BEGIN
        INSERT INTO stats_places (neighbourhood_id, platform, citizens, verified)
            VALUES (coalesce(new.neighbourhood_id, ''), new.platform, 1, new.phone_hash IS NOT NULL)
            ON CONFLICT (neighbourhood_id, platform) DO UPDATE
            SET citizens = citizens + excluded.citizens, verified = verified + excluded.verified;
        INSERT INTO stats_days (day, citizens) VALUES (date(new.created_at, '+210 minutes'), 1)
            ON CONFLICT (day) DO UPDATE SET citizens = citizens + 1;
        INSERT INTO stats_days (day, verified) SELECT date(new.verified_at, '+210 minutes'), 1
            WHERE new.verified_at IS NOT NULL ON CONFLICT (day) DO UPDATE SET verified = verified + 1;
    END;
    CREATE TRIGGER stats_citizen_removed AFTER DELETE ON citizens BEGIN
        UPDATE stats_places SET citizens = citizens - 1, verified = verified - (old.phone_hash IS NOT NULL)
            WHERE neighbourhood_id = coalesce(old.neighbourhood_id, '') AND platform = old.platform;
        UPDATE stats_days SET citizens = citizens - 1 WHERE day = date(old.created_at, '+210 minutes');
        UPDATE stats_days SET verified = verified - 1 WHERE day = date(old.verified_at, '+210 minutes');
    END;
    -- A move (or a phone verified): the citizen's share leaves the old place and day, joins the new.
    CREATE TRIGGER stats_citizen_changed
        AFTER UPDATE OF neighbourhood_id, platform, phone_hash, verified_at, created_at ON citizens
        WHEN old.neighbourhood_id IS NOT new.neighbourhood_id OR old.platform IS NOT new.platform
          OR old.phone_hash IS NOT new.phone_hash OR old.verified_at IS NOT new.verified_at
          OR old.created_at IS NOT new.created_at
    BEGIN
        UPDATE stats_places SET citizens = citizens - 1, verified = verified - (old.phone_hash IS NOT NULL),
                voters = voters - (SELECT count(*) > 0 FROM votes WHERE citizen_id = old.id),
                votes = votes - (SELECT count(*) FROM votes WHERE citizen_id = old.id)
            WHERE neighbourhood_id = coalesce(old.neighbourhood_id, '') AND platform = old.platform;
        INSERT INTO stats_places (neighbourhood_id, platform, citizens, verified, voters, votes)
            SELECT coalesce(new.neighbourhood_id, ''), new.platform, 1, new.phone_hash IS NOT NULL,
                   count(*) > 0, count(*) FROM votes WHERE citizen_id = new.id
            ON CONFLICT (neighbourhood_id, platform) DO UPDATE SET citizens = citizens + 1,
                verified = verified + excluded.verified, voters = voters + excluded.voters,
                votes = votes + excluded.votes;
        UPDATE stats_days SET citizens = citizens - 1 WHERE day = date(old.created_at, '+210 minutes');
        INSERT INTO stats_days (day, citizens) VALUES (date(new.created_at, '+210 minutes'), 1)
            ON CONFLICT (day) DO UPDATE SET citizens = citizens + 1;
        UPDATE stats_days SET verified = verified - 1 WHERE day = date(old.verified_at, '+210 minutes');
        INSERT INTO stats_days (day, verified) SELECT date(new.verified_at, '+210 minutes'), 1
            WHERE new.verified_at IS NOT NULL ON CONFLICT (day) DO UPDATE SET verified = verified + 1;
    END;
    -- A vote: its voter's place and its day; the voter's day is their earliest vote standing.
    CREATE TRIGGER stats_vote_added AFTER INSERT ON votes BEGIN
        INSERT INTO stats_places (neighbourhood_id, platform, voters, votes)
            SELECT coalesce(c.neighbourhood_id, ''), c.platform,
                   NOT EXISTS (SELECT 1 FROM votes v WHERE v.citizen_id = c.id AND v.proposal_id != new.proposal_id), 1
            FROM citizens c WHERE c.id = new.citizen_id
            ON CONFLICT (neighbourhood_id, platform) DO UPDATE
            SET voters = voters + excluded.voters, votes = votes + 1;
        INSERT INTO stats_days (day, votes) VALUES (date(new.created_at, '+210 minutes'), 1)
            ON CONFLICT (day) DO UPDATE SET votes = votes + 1;
        UPDATE stats_days SET voters = voters - 1 WHERE day = (
            SELECT date(min(created_at), '+210 minutes') FROM votes
            WHERE citizen_id = new.citizen_id AND proposal_id != new.proposal_id HAVING min(created_at) > new.created_at);
        INSERT INTO stats_days (day, voters) SELECT date(new.created_at, '+210 minutes'), 1
            WHERE NOT EXISTS (SELECT 1 FROM votes WHERE citizen_id = new.citizen_id AND proposal_id != new.proposal_id
                              AND created_at <= new.created_at)
            ON CONFLICT (day) DO UPDATE SET voters = voters + 1;
    END;
    CREATE TRIGGER stats_vote_removed AFTER DELETE ON votes BEGIN
        UPDATE stats_places SET votes = votes - 1,
                voters = voters - (NOT EXISTS (SELECT 1 FROM votes WHERE citizen_id = old.citizen_id))
            WHERE (neighbourhood_id, platform) = (
                SELECT coalesce(neighbourhood_id, ''), platform FROM citizens WHERE id = old.citizen_id);
        UPDATE stats_days SET votes = votes - 1 WHERE day = date(old.created_at, '+210 minutes');
        UPDATE stats_days SET voters = voters - 1 WHERE day = date(old.created_at, '+210 minutes')
            AND NOT EXISTS (SELECT 1 FROM votes WHERE citizen_id = old.citizen_id AND created_at <= old.created_at);
        INSERT INTO stats_days (day, voters)
            SELECT date(min(created_at), '+210 minutes'), 1 FROM votes WHERE citizen_id = old.citizen_id
            HAVING min(created_at) > old.created_at
            ON CONFLICT (day) DO UPDATE SET voters = voters + 1;
    END;
    """),
    # 15: search keys carry their neighbourhood's token (storage/search.key_of): every key is
    # emptied here and written again in the new form by the first search (the FTS5 triggers follow).
    """
    UPDATE proposals SET search_key = NULL WHERE search_key IS NOT NULL;
    """,
    # 16: the proposals' figures of /stats kept as counters too (entry 14's tables), so /stats reads nothing
    # that grows with the city (the proposals GROUP BY took 81 ms at 40,000 proposals, 4.5 ms at 1,000).
    # Per place: pending, approved, rejected, on the ballot (approved, feasible, costed); per day: proposals.
    ("""
    ALTER TABLE stats_places ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stats_places ADD COLUMN approved INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stats_places ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stats_places ADD COLUMN on_ballot INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stats_days ADD COLUMN proposals INTEGER NOT NULL DEFAULT 0;
    """ + PROPOSALS_BACKFILL + """
    CREATE TRIGGER stats_proposal_added AFTER INSERT ON proposals BEGIN
        INSERT INTO stats_places (neighbourhood_id, platform, pending, approved, rejected, on_ballot)
            VALUES (new.neighbourhood_id, new.platform, new.status = 'pending', new.status = 'approved',
                    new.status = 'rejected', new.status = 'approved' AND new.feasibility = 'feasible' AND new.cost IS NOT NULL)
            ON CONFLICT (neighbourhood_id, platform) DO UPDATE SET pending = pending + excluded.pending,
                approved = approved + excluded.approved, rejected = rejected + excluded.rejected,
                on_ballot = on_ballot + excluded.on_ballot;
        INSERT INTO stats_days (day, proposals) VALUES (date(new.created_at, '+210 minutes'), 1)
            ON CONFLICT (day) DO UPDATE SET proposals = proposals + 1;
    END;
    CREATE TRIGGER stats_proposal_removed AFTER DELETE ON proposals BEGIN
        UPDATE stats_places SET pending = pending - (old.status = 'pending'), approved = approved - (old.status = 'approved'),
                rejected = rejected - (old.status = 'rejected'),
                on_ballot = on_ballot - (old.status = 'approved' AND old.feasibility = 'feasible' AND old.cost IS NOT NULL)
            WHERE neighbourhood_id = old.neighbourhood_id AND platform = old.platform;
        UPDATE stats_days SET proposals = proposals - 1 WHERE day = date(old.created_at, '+210 minutes');
    END;
    CREATE TRIGGER stats_proposal_changed
        AFTER UPDATE OF status, feasibility, cost, neighbourhood_id, platform, created_at ON proposals
        WHEN old.status IS NOT new.status OR old.feasibility IS NOT new.feasibility OR old.cost IS NOT new.cost
          OR old.neighbourhood_id IS NOT new.neighbourhood_id OR old.platform IS NOT new.platform
          OR old.created_at IS NOT new.created_at
    BEGIN
        UPDATE stats_places SET pending = pending - (old.status = 'pending'), approved = approved - (old.status = 'approved'),
                rejected = rejected - (old.status = 'rejected'),
                on_ballot = on_ballot - (old.status = 'approved' AND old.feasibility = 'feasible' AND old.cost IS NOT NULL)
            WHERE neighbourhood_id = old.neighbourhood_id AND platform = old.platform;
        INSERT INTO stats_places (neighbourhood_id, platform, pending, approved, rejected, on_ballot)
            VALUES (new.neighbourhood_id, new.platform, new.status = 'pending', new.status = 'approved',
                    new.status = 'rejected', new.status = 'approved' AND new.feasibility = 'feasible' AND new.cost IS NOT NULL)
            ON CONFLICT (neighbourhood_id, platform) DO UPDATE SET pending = pending + excluded.pending,
                approved = approved + excluded.approved, rejected = rejected + excluded.rejected,
                on_ballot = on_ballot + excluded.on_ballot;
        UPDATE stats_days SET proposals = proposals - 1 WHERE day = date(old.created_at, '+210 minutes');
        INSERT INTO stats_days (day, proposals) VALUES (date(new.created_at, '+210 minutes'), 1)
            ON CONFLICT (day) DO UPDATE SET proposals = proposals + 1;
    END;
    """),
    # 17: the /stats counters' triggers dropped again (entries 14 and 16): with two or more workers on
    # PostgreSQL every vote, phone check and new citizen of a neighbourhood queued on its counter rows
    # (bench.cluster --workers 2 at 400 citizens: journeys stalled behind chains of lock waits). /stats
    # counts from the rows again (storage/stats.py) until the counters no longer serialize the writers.
    """
    DROP TRIGGER IF EXISTS stats_citizen_added;
    DROP TRIGGER IF EXISTS stats_citizen_removed;
    DROP TRIGGER IF EXISTS stats_citizen_changed;
    DROP TRIGGER IF EXISTS stats_vote_added;
    DROP TRIGGER IF EXISTS stats_vote_removed;
    DROP TRIGGER IF EXISTS stats_proposal_added;
    DROP TRIGGER IF EXISTS stats_proposal_removed;
    DROP TRIGGER IF EXISTS stats_proposal_changed;
    """,
]
