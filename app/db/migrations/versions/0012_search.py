"""full-text search over customers, ticket subjects and messages

SQLite: FTS5 tables (tokenizer unicode61 remove_diacritics 2) kept current by triggers:
- search_customers: its own copy of name, company and the customer's addresses (rowid = customer id);
- search_tickets, search_messages: external content over tickets.subject and messages.body (no copy).
PostgreSQL: tsvectors (config 'simple': names are not stemmed) with GIN indexes:
- search_customers(customer_id, doc), kept current by triggers on customers and identities;
- messages.search_doc, tickets.search_doc: stored generated columns, current by construction.
Accents are folded on both (PostgreSQL: search_unaccent(), the letters decomposed and their accents
dropped, as SQLite's remove_diacritics does; built in, so no extension is needed); punctuation splits
words (an email's local part and its domain are words of their own). Existing rows are indexed here.

Every object is named search_*: the schema comparison with the models leaves them out
(app.domain.search.include_name). On SQLite a batch migration that rebuilds customers, identities, tickets
or messages drops their triggers with the table: such a migration must create them again (SQLITE_TRIGGERS).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# prefix indexes for 2 and 3 characters: a query's last word is a prefix, and a short one matches so many
# words that merging their lists costs 100 ms at a million messages (0.2 ms with the index)
TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
ADDRESSES = "coalesce((SELECT group_concat(address, ' ') FROM identities WHERE customer_id = {id}), '')"


def _refresh_addresses(cid: str) -> str:
    return f"UPDATE search_customers SET addresses = {ADDRESSES.format(id=cid)} WHERE rowid = {cid};"


MESSAGES_UPTO = "(SELECT upto FROM search_progress WHERE name = 'messages')"


def _external_delete(table: str, column: str) -> str:
    fts = f"search_{table}"
    return f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"


def _external_insert(table: str, column: str) -> str:
    return f"INSERT INTO search_{table}(rowid, {column}) VALUES (new.id, new.{column});"


def _external(table: str, column: str) -> list[str]:
    """Triggers keeping an external-content FTS5 table over `table.column` current."""
    fts = f"search_{table}"
    delete, insert = _external_delete(table, column), _external_insert(table, column)
    return [
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} BEGIN {delete} {insert} END",
    ]


SQLITE_TABLES = [
    f"CREATE VIRTUAL TABLE search_customers USING fts5(name, company, addresses, {TOKENIZE})",
    "CREATE VIRTUAL TABLE search_tickets USING fts5("
    f"subject, content='tickets', content_rowid='id', {TOKENIZE})",
    "CREATE VIRTUAL TABLE search_messages USING fts5("
    f"body, content='messages', content_rowid='id', {TOKENIZE})",
]

SQLITE_TRIGGERS = [
    "CREATE TRIGGER search_customers_ai AFTER INSERT ON customers BEGIN "
    "INSERT INTO search_customers(rowid, name, company, addresses) "
    f"VALUES (new.id, new.name, new.company, {ADDRESSES.format(id='new.id')}); END",
    "CREATE TRIGGER search_customers_au AFTER UPDATE OF name, company ON customers BEGIN "
    "UPDATE search_customers SET name = new.name, company = new.company WHERE rowid = new.id; END",
    "CREATE TRIGGER search_customers_ad AFTER DELETE ON customers BEGIN "
    "DELETE FROM search_customers WHERE rowid = old.id; END",
    "CREATE TRIGGER search_identities_ai AFTER INSERT ON identities BEGIN "
    f"{_refresh_addresses('new.customer_id')} END",
    "CREATE TRIGGER search_identities_ad AFTER DELETE ON identities BEGIN "
    f"{_refresh_addresses('old.customer_id')} END",
    "CREATE TRIGGER search_identities_au AFTER UPDATE OF customer_id, address ON identities BEGIN "
    f"{_refresh_addresses('old.customer_id')} {_refresh_addresses('new.customer_id')} END",
    *_external("tickets", "subject"),
    # messages are indexed by a background task (app/actions/search_index.py), not by an insert trigger:
    # FTS5's segment merges at commit took the chat path's p99 from 23 to 95 ms at 1,000 messages/s. A
    # message indexed already (id <= search_progress.upto) is kept current by these two.
    "CREATE TRIGGER search_messages_ad AFTER DELETE ON messages "
    f"WHEN old.id <= {MESSAGES_UPTO} BEGIN {_external_delete('messages', 'body')} END",
    "CREATE TRIGGER search_messages_au AFTER UPDATE OF body ON messages "
    f"WHEN old.id <= {MESSAGES_UPTO} BEGIN {_external_delete('messages', 'body')} "
    f"{_external_insert('messages', 'body')} END",
]

SQLITE_BACKFILL = [
    "INSERT INTO search_customers(rowid, name, company, addresses) "
    f"SELECT id, name, company, {ADDRESSES.format(id='customers.id')} FROM customers",
    "INSERT INTO search_tickets(search_tickets) VALUES ('rebuild')",
    "INSERT INTO search_messages(search_messages) VALUES ('rebuild')",
    "CREATE TABLE search_progress (name VARCHAR(32) PRIMARY KEY, upto INTEGER NOT NULL)",
    "INSERT INTO search_progress (name, upto) SELECT 'messages', coalesce(max(id), 0) FROM messages",
]


# what a document becomes before to_tsvector: accents folded, punctuation a space (so that PostgreSQL's
# parser sees greta@lind.example as three words, not one email token), and never more than 100,000
# characters (a tsvector holds at most 1 MB: a huge mail must not fail its insert)
PG_DOC = (
    "to_tsvector('simple'::regconfig, "
    "regexp_replace(search_unaccent(left({x}, 100000)), '[[:punct:]]+', ' ', 'g'))"
)
GENERATED = "ALTER TABLE {table} ADD COLUMN search_doc tsvector GENERATED ALWAYS AS ({doc}) STORED"


def _pg_statements() -> list[str]:
    customer_doc = PG_DOC.format(
        x="c.name || ' ' || c.company || ' ' || "
        "coalesce((SELECT string_agg(i.address, ' ') FROM identities i WHERE i.customer_id = c.id), '')"
    )
    return [
        "SET LOCAL maintenance_work_mem = '256MB'",  # GIN indexes build several times faster
        # the letters decomposed (NFKD) and their combining accents dropped: what SQLite's remove_diacritics
        # does (derived from the same decompositions), in linear time (a translate() of the ~490 accented
        # Latin letters costs 30 times as much)
        "CREATE FUNCTION search_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        "AS $$ SELECT pg_catalog.regexp_replace(pg_catalog.normalize($1, 'NFKD'), "
        r"'[\u0300-\u036f]+', '', 'g') $$",
        GENERATED.format(table="messages", doc=PG_DOC.format(x="body")),
        "CREATE INDEX search_messages_doc ON messages USING gin (search_doc)",
        GENERATED.format(table="tickets", doc=PG_DOC.format(x="subject")),
        "CREATE INDEX search_tickets_doc ON tickets USING gin (search_doc)",
        "CREATE TABLE search_customers (customer_id integer PRIMARY KEY, doc tsvector NOT NULL)",
        "CREATE FUNCTION search_customer_doc(integer) RETURNS tsvector LANGUAGE sql STABLE "
        f"AS $$ SELECT {customer_doc} FROM customers c WHERE c.id = $1 $$",
        """CREATE FUNCTION search_customers_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'customers' THEN
                IF TG_OP = 'DELETE' THEN
                    DELETE FROM search_customers WHERE customer_id = OLD.id;
                ELSE
                    INSERT INTO search_customers (customer_id, doc)
                    VALUES (NEW.id, search_customer_doc(NEW.id))
                    ON CONFLICT (customer_id) DO UPDATE SET doc = EXCLUDED.doc;
                END IF;
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                UPDATE search_customers SET doc = search_customer_doc(OLD.customer_id)
                WHERE customer_id = OLD.customer_id;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE search_customers SET doc = search_customer_doc(NEW.customer_id)
                WHERE customer_id = NEW.customer_id;
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER search_customers_sync AFTER INSERT OR DELETE OR UPDATE OF name, company ON customers "
        "FOR EACH ROW EXECUTE FUNCTION search_customers_sync()",
        "CREATE TRIGGER search_identities_sync AFTER INSERT OR DELETE OR UPDATE OF customer_id, address "
        "ON identities FOR EACH ROW EXECUTE FUNCTION search_customers_sync()",
        "INSERT INTO search_customers (customer_id, doc) SELECT id, search_customer_doc(id) FROM customers",
        "CREATE INDEX search_customers_doc ON search_customers USING gin (doc)",
        # the planner needs the new columns' statistics at once: without them it takes a word in a third of
        # the messages for a rare one (and reads them all), or a rare one for a common one (and scans)
        "ANALYZE messages",
        "ANALYZE tickets",
        "ANALYZE search_customers",
    ]


PG_DOWN = [
    "DROP TRIGGER IF EXISTS search_identities_sync ON identities",
    "DROP TRIGGER IF EXISTS search_customers_sync ON customers",
    "DROP FUNCTION IF EXISTS search_customers_sync()",
    "DROP TABLE IF EXISTS search_customers",
    "DROP FUNCTION IF EXISTS search_customer_doc(integer)",
    "ALTER TABLE tickets DROP COLUMN IF EXISTS search_doc",
    "ALTER TABLE messages DROP COLUMN IF EXISTS search_doc",
    "DROP FUNCTION IF EXISTS search_unaccent(text)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        statements = [*SQLITE_TABLES, *SQLITE_TRIGGERS, *SQLITE_BACKFILL]
    else:
        statements = _pg_statements()
    bind = op.get_bind()
    for statement in statements:
        bind.exec_driver_sql(statement)  # as written: no bind parameters in '[[:punct:]]'


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        names = [s.split()[2] for s in SQLITE_TRIGGERS]
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in names]
        statements += [
            f"DROP TABLE IF EXISTS search_{t}" for t in ("messages", "tickets", "customers", "progress")
        ]
    else:
        statements = PG_DOWN
    bind = op.get_bind()
    for statement in statements:
        bind.exec_driver_sql(statement)  # as written: no bind parameters in '[[:punct:]]'
