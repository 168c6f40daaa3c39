"""What "a migration never rewrites a log leaf" compares: every column a leaf had when the log was
created (migration 0005), in index order. Shared by tests/backend/test_migrations.py and
bench/upgrade_bench.py."""

from __future__ import annotations

LEAF_COLUMNS = ("leaf_index", "kind", "ref", "agency_id", "content", "leaf_hash", "nodes", "created_at")

# PostgreSQL: one SHA-256 per row, computed by the server (the bench streams 400,000 of them).
ROW_DIGEST_SQL = ("sha256(convert_to(concat_ws(chr(31), " + ", ".join(f"{c}::text" for c in LEAF_COLUMNS)
                  + "), 'UTF8'))")
# Where the row is stored and which transaction wrote it: a table rewrite or an UPDATE writing the
# same values changes these even when the content digest stays the same.
PHYSICAL_DIGEST_SQL = "xmin::text || ctid::text"
