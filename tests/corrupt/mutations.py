"""The damage done to a copy of the demo store: row mutations (SQL on one
chosen opportunity, its history, payments, or the team and target rows) and
file damage (seeded byte flips, truncations).

A row mutation is INVALID when the rows break a rule the library enforces on
input (docs/json-format.md, lib/record_check.h): no answer is right except a
refusal, so a command may fail, or succeed only with the healthy store's
exact output (the damaged field did not enter it). It is VALID when the rows
are legal data a user could have; then every read must succeed with the
answer recomputed from the rows (recompute.py), and `changes` names the
commands whose answer moves but is not recomputed (their output is only
checked for well-formedness: exit 0, JSON, no raw controls).
"""
import random
import sqlite3

INT64_MAX = 2**63 - 1
INT64_MIN = -2**63
SAFE = 2**53 - 1

TEXT_ESC = "ESC\x1b[2J BEL\x07 C1\u009b31m DEL\x7f tab\t nl\n \\ \u201cq\u201d \U0001F600"


def text_of_bytes(n, unit=TEXT_ESC):
    """Text of exactly n UTF-8 bytes made of unit (the limit is in bytes)."""
    s = ""
    while len((s + unit).encode()) <= n:
        s += unit
    return s + "x" * (n - len(s.encode()))


class Ctx:
    """The opportunities the mutations aim at, chosen from the demo store:
    won: a won deal with a payment and something outstanding, whose owner is
    in a team (it feeds receivables, attainment, win-rate, velocity);
    open: a quoted deal with an amount and a close date (pipeline, forecast,
    stale); healthy: a lead with a customer; won2: another won deal with
    something outstanding."""

    def __init__(self, path):
        db = sqlite3.connect(path)
        q = lambda sql, *a: db.execute(sql, a).fetchone()  # noqa: E731
        won = "('signed', 'delivered', 'serviced')"
        owed = (f"SELECT o.id, o.owner FROM opp o JOIN team_member t ON t.owner = o.owner WHERE o.stage IN {won} "
                "AND o.amount > (SELECT COALESCE(SUM(amount), 0) FROM payment WHERE opp_id = o.id) + 100 "
                "AND EXISTS (SELECT 1 FROM payment WHERE opp_id = o.id) ORDER BY o.rowid")
        rows = db.execute(owed).fetchall()
        assert len(rows) >= 2, "the demo store needs two won deals with something outstanding"
        (self.won, self.won_owner), (self.won2, _) = rows[0], rows[1]
        self.won_team = q("SELECT team FROM team_member WHERE owner = ?", self.won_owner)[0]
        self.other_team = q("SELECT team FROM team_member WHERE team <> ? ORDER BY team", self.won_team)[0]
        self.open = q("SELECT id FROM opp WHERE stage = 'quoted' AND amount > 0 AND expected_close_ms > 0 "
                      "ORDER BY rowid")[0]
        self.healthy = q("SELECT id FROM opp WHERE stage = 'lead' AND customer IS NOT NULL ORDER BY rowid")[0]
        self.won_last = q("SELECT MAX(version) FROM history WHERE opp_id = ?", self.won)[0]
        self.won_amount = q("SELECT amount FROM opp WHERE id = ?", self.won)[0]
        db.close()

    def stage_of(self, opp):
        return "serviced" if opp == self.won else "quoted"


class Mutation:
    def __init__(self, name, kind, target, apply, names=None, changes=(), write_ok=False, record_ok=()):
        self.name, self.kind, self.target, self.apply = name, kind, target, apply
        # INVALID across tables only (the record alone is valid): commands
        # that read no history may answer from the record, judged as VALID.
        self.record_ok = tuple(record_ok)
        self.names = names            # what a failure message must name (default: the target's id)
        self.changes = set(changes)   # VALID: commands whose answer moves and is not recomputed
        self.write_ok = write_ok      # INVALID: the write on the target may succeed (field not on its path)


def _exec(db, sql, *args):
    n = db.execute(sql, args).rowcount
    assert n >= 1, f"mutation changed no row: {sql} {args}"


def _set(table, col, value, where="id = ?"):
    def apply(db, c, t):
        _exec(db, f"UPDATE {table} SET {col} = ? WHERE {where}", value, t)
    return apply


def _set_sql(table, col, expr, where="id = ?"):
    def apply(db, c, t):
        _exec(db, f"UPDATE {table} SET {col} = {expr} WHERE {where}", t)
    return apply


def _null(table, col, where="id = ?"):
    """NULL in a NOT NULL column, as another program with its own idea of
    the schema could have written: the constraint is dropped from the stored
    schema text first (writable_schema), the file format is untouched."""
    def apply(db, c, t):
        sql = db.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0]
        new = sql.replace(f"{col} TEXT NOT NULL", f"{col} TEXT").replace(f"{col} INTEGER NOT NULL", f"{col} INTEGER")
        assert new != sql
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_schema SET sql = ? WHERE name = ?", (new, table))
        v = db.execute("PRAGMA schema_version").fetchone()[0]
        db.execute(f"PRAGMA schema_version = {v + 1}")
        db.execute("PRAGMA writable_schema = OFF")
        db.commit()
        _exec(db, f"UPDATE {table} SET {col} = NULL WHERE {where}", t)
    return apply


def _hist(col, value, version):
    """history.col of one entry; version: an int or 'last'."""
    def apply(db, c, t):
        v = c.won_last if version == "last" else version
        _exec(db, f"UPDATE history SET {col} = ? WHERE opp_id = ? AND version = ?", value, t, v)
    return apply


def _swap_history(db, c, t):
    # Entries 3 and 4 trade places: versions stay 1..n, the from/to chain breaks.
    _exec(db, "UPDATE history SET version = -4 WHERE opp_id = ? AND version = 4", t)
    _exec(db, "UPDATE history SET version = 4 WHERE opp_id = ? AND version = 3", t)
    _exec(db, "UPDATE history SET version = 3 WHERE opp_id = ? AND version = -4", t)


def _unknown_stage_in_history(db, c, t):
    _exec(db, "UPDATE history SET to_stage = 'limbo' WHERE opp_id = ? AND version = 3", t)
    _exec(db, "UPDATE history SET from_stage = 'limbo' WHERE opp_id = ? AND version = 4", t)


def _time_disorder(db, c, t):
    # Entry 3 is dated before the create: legal data (the import does not
    # ask times to grow), so reports must give the recomputed answer.
    _exec(db, "UPDATE history SET at_ms = (SELECT at_ms - 86400000 FROM history WHERE opp_id = ?1 AND version = 1)"
              " WHERE opp_id = ?1 AND version = 3", t)


def _attrs_too_many(db, c, t):
    db.executemany("INSERT INTO opp_attr VALUES (?, ?, 'x')", [(t, f"k{i:03d}") for i in range(257)])


def _overpaid(db, c, t):
    _exec(db, "UPDATE payment SET amount = ? WHERE opp_id = ? AND seq = 1", c.won_amount + 1, t)


def _team(col, value):
    def apply(db, c, t):
        _exec(db, f"UPDATE team_member SET {col} = ? WHERE owner = ?", value, c.won_owner)
    return apply


def _target(col, value):
    def apply(db, c, t):
        _exec(db, f"UPDATE target SET {col} = ? WHERE subject = ? AND period_kind = 2 AND period_index = 1",
              value, c.won_owner)
    return apply


def _team_moved(db, c, t):
    _exec(db, "UPDATE team_member SET team = ? WHERE owner = ?", c.other_team, c.won_owner)


def _blob(b):
    return lambda db, c, t: _exec(db, "UPDATE opp SET customer = CAST(? AS TEXT) WHERE id = ?", b, t)


def _pay(col, value):
    return lambda db, c, t: _exec(db, f"UPDATE payment SET {col} = ? WHERE opp_id = ? AND seq = 1", value, t)


INVALID, VALID = "invalid", "valid"
W, O = "won", "open"

ROW_MUTATIONS = [
    # -- the record's stage
    Mutation("stage_unknown", INVALID, W, _set("opp", "stage", "nowhere")),
    Mutation("stage_null", INVALID, W, _null("opp", "stage")),
    Mutation("stage_empty", INVALID, O, _set("opp", "stage", "")),
    Mutation("stage_not_last_to", INVALID, W, _set("opp", "stage", "delivered"), write_ok=True,
             changes=["report stale"],
             record_ok=["show T", "show T --json", "show H --json", "list", "list --json", "list --stage --json",
                        "report pipeline", "report pipeline --json", "report stale", "report stale --json"]),
    # -- versions
    Mutation("version_null", INVALID, O, _null("opp", "version")),
    Mutation("version_zero", INVALID, O, _set("opp", "version", 0)),
    Mutation("version_negative", INVALID, W, _set("opp", "version", -5)),
    Mutation("version_int64_max", INVALID, O, _set("opp", "version", INT64_MAX)),
    Mutation("version_above_2^53", INVALID, O, _set("opp", "version", SAFE + 1)),
    Mutation("version_text", INVALID, O, _set("opp", "version", "7abc")),
    Mutation("version_real", INVALID, O, _set("opp", "version", 4.5)),
    # -- amounts, currency
    Mutation("amount_negative", INVALID, W, _set("opp", "amount", -100)),
    Mutation("amount_above_2^53", INVALID, W, _set("opp", "amount", SAFE + 1)),
    Mutation("amount_int64_min", INVALID, O, _set("opp", "amount", INT64_MIN)),
    Mutation("amount_text", INVALID, O, _set("opp", "amount", "12abc")),
    Mutation("currency_lowercase", INVALID, W, _set("opp", "currency", "cny")),
    Mutation("currency_null_with_amount", INVALID, W, _set("opp", "currency", None)),
    # -- text
    Mutation("customer_empty", INVALID, W, _set("opp", "customer", "")),
    Mutation("customer_not_utf8", INVALID, W, _blob(b"Acme \xff\xfe Ltd")),
    Mutation("owner_not_utf8", INVALID, W, _set_sql("opp", "owner", "CAST(X'4c69c0576569' AS TEXT)")),
    Mutation("title_4097_bytes", INVALID, O, _set("opp", "title", "t" * 4097)),
    Mutation("title_1MiB", INVALID, O, _set("opp", "title", "\u00e9" * (1 << 19))),
    Mutation("id_not_utf8", INVALID, O, _set_sql("opp", "id", "CAST(X'4f5050ff' AS TEXT)"), names=["OPP\\xff", "OPP-"]),
    # -- times
    Mutation("created_int64_min", INVALID, W, _set("opp", "created_ms", INT64_MIN)),
    Mutation("created_null", INVALID, W, _null("opp", "created_ms")),
    Mutation("updated_int64_max", INVALID, O, _set("opp", "updated_ms", INT64_MAX)),
    Mutation("stage_entered_int64_max", INVALID, O, _set("opp", "stage_entered_ms", INT64_MAX)),
    Mutation("expected_close_negative", INVALID, O, _set("opp", "expected_close_ms", -1)),
    Mutation("expected_close_int64_max", INVALID, O, _set("opp", "expected_close_ms", INT64_MAX)),
    Mutation("history_at_int64_max", INVALID, W, _hist("at_ms", INT64_MAX, "last"), write_ok=True),
    Mutation("history_at_int64_min", INVALID, W, _hist("at_ms", INT64_MIN, 2), write_ok=True),
    # -- history
    Mutation("history_gap", INVALID, W,
             lambda db, c, t: _exec(db, "DELETE FROM history WHERE opp_id = ? AND version = 3", t), write_ok=True),
    Mutation("history_last_missing", INVALID, W,
             lambda db, c, t: _exec(db, "DELETE FROM history WHERE opp_id = ? AND version = ?", t, c.won_last),
             write_ok=True),
    Mutation("history_version_int64_max", INVALID, W, _hist("version", INT64_MAX, "last"), write_ok=True),
    Mutation("history_swapped", INVALID, W, _swap_history, write_ok=True),
    Mutation("history_second_create", INVALID, W, _hist("kind", 1, 3), write_ok=True),
    Mutation("history_unknown_kind", INVALID, W, _hist("kind", 9, 3), write_ok=True),
    Mutation("history_unknown_stage", INVALID, W, _unknown_stage_in_history, write_ok=True),
    Mutation("history_note_not_utf8", INVALID, W,
             _hist("note", sqlite3.Binary(b"late \xc3( fee"), 2), write_ok=True),
    Mutation("changes_not_json", INVALID, W, _hist("changes", "{not json}", 1), write_ok=True),
    Mutation("changes_cut", INVALID, W, _hist("changes", '{"amount":', 1), write_ok=True),
    Mutation("changes_null", INVALID, W, _hist("changes", None, 1), write_ok=True),
    Mutation("changes_not_utf8", INVALID, W,
             _hist("changes", sqlite3.Binary(b'{"amount":1,"currency":"CNY","customer":"\xff"}'), 1),
             write_ok=True),
    Mutation("changes_other_fields", INVALID, W, _hist("changes", '{"amount":5}', 1), write_ok=True),
    # -- attributes
    Mutation("attr_value_not_utf8", INVALID, W,
             lambda db, c, t: _exec(db, "INSERT INTO opp_attr VALUES (?, 'bad', CAST(X'ff00' AS TEXT))", t)),
    Mutation("attrs_257", INVALID, W, _attrs_too_many),
    # -- payments (of the won deal)
    Mutation("payment_negative", INVALID, W, _pay("amount", -5)),
    Mutation("payment_overpaid", INVALID, W, _overpaid),
    Mutation("payment_other_currency", INVALID, W, _pay("currency", "USD")),
    Mutation("payment_at_int64_max", INVALID, W, _pay("at_ms", INT64_MAX)),
    Mutation("payment_note_not_utf8", INVALID, W, _pay("note", sqlite3.Binary(b"inv \xe2\x82"))),
    # -- teams and targets (the won deal's owner)
    # (the owner column: a filter by team still meets the damaged row)
    Mutation("team_owner_not_utf8", INVALID, W, _team("owner", sqlite3.Binary(b"Li \xffWei")),
             names=["team", "Li \\xff"], write_ok=True),
    Mutation("team_owner_empty", INVALID, W, _team("owner", ""), names=["team"], write_ok=True),
    Mutation("target_negative", INVALID, W, _target("amount", -1), names=["target"], write_ok=True),
    Mutation("target_period_99", INVALID, W, _target("period_index", 99), names=["target"], write_ok=True),
    # -- legal data the tool must answer on, recomputed
    Mutation("title_4096_with_controls", VALID, W,
             _set("opp", "title", text_of_bytes(4096)),
             changes=["show T", "list", "list --stage"]),
    Mutation("customer_with_controls", VALID, O, _set("opp", "customer", TEXT_ESC),
             changes=["show T", "list", "list --stage", "report stale", "report stale --json",
                      "report stale --as-of --json"]),
    Mutation("amount_changed", VALID, O, _set("opp", "amount", 123456789),
             changes=["show T", "list", "list --stage", "report forecast", "report forecast --json"]),
    Mutation("payment_changed", VALID, W, _pay("amount", 1234),
             changes=["payments", "report receivables", "report receivables --as-of --json"]),
    Mutation("team_moved", VALID, W, _team_moved,
             changes=["team list", "report attainment", "report attainment --json", "report win-rate --team --json"]),
    Mutation("history_time_disorder", VALID, W, _time_disorder,
             changes=["history T", "history T --json", "report velocity", "report pipeline --as-of --json",
                      "report funnel --as-of --json"]),
    Mutation("created_at_-2^53", VALID, W, _set("opp", "created_ms", -SAFE),
             changes=["show T", "list", "list --stage", "report velocity"]),
    Mutation("note_with_controls", VALID, W, _hist("note", TEXT_ESC, 3), changes=["history T"]),
]

# ---- file damage ----

PAGE = 4096


def flip_positions(size, seed=20261205, random_count=3):
    """Byte offsets to flip: the database header (magic, page size, page
    count, schema cookie, user_version, text encoding), the b-tree header of
    pages 1, 2 and the last, cell content in the middle, and seeded random
    offsets."""
    fixed = [("magic", 0), ("page_size", 16), ("page_count", 31), ("schema_cookie", 43),
             ("text_encoding", 59), ("user_version", 63), ("page1_btree_type", 100), ("page1_cell_count", 104),
             ("page2_btree_type", PAGE), ("page2_cell_ptr", PAGE + 9), ("last_page_type", size - PAGE),
             ("middle", size // 2), ("middle+1k", size // 2 + 1024), ("end-100", size - 100)]
    rnd = random.Random(seed)
    fixed += [(f"random{i}", rnd.randrange(100, size)) for i in range(random_count)]
    return fixed


def flip(path, offset, seed):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        mask = random.Random(seed * 7919 + offset).randrange(1, 256)
        f.seek(offset)
        f.write(bytes([b ^ mask]))


def truncation_sizes(size):
    return [("within_header", 50), ("one_page", PAGE), ("half", size // 2 // PAGE * PAGE),
            ("one_page_short", size - PAGE), ("one_byte_short", size - 1)]


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)
