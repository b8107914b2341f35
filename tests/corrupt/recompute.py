"""The independent answer: what the tool should print, computed in Python
from the store's rows as sqlite3 reads them (full table scans, no index).

Covers the outputs that are plain projections of rows (show/list --json,
payments --json, team list --json) and four reports (pipeline, win-rate,
velocity, receivables without --as-of) by the rules of docs/reports.md (a
duration whose end precedes its start counts as 0). The
other reports are judged against the healthy store's answer (see
test_corrupt.py).
"""
import sqlite3

OPP_COLS = ("id", "stage", "version", "amount", "currency", "customer", "owner", "title", "expected_close_ms",
            "created_ms", "updated_ms", "stage_entered_ms")
HIST_COLS = ("opp_id", "version", "at_ms", "kind", "event", "from_stage", "to_stage", "actor", "role", "note",
             "fields", "changes")


class Rows:
    """Every row of the store, as sqlite3 hands it back. Raises
    sqlite3.DatabaseError when sqlite3 itself cannot read the file."""

    def __init__(self, path):
        db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        db.text_factory = bytes
        try:
            q = lambda sql: db.execute(sql).fetchall()  # noqa: E731
            self.opps = q(f"SELECT {', '.join(OPP_COLS)} FROM opp NOT INDEXED ORDER BY rowid")
            self.attrs = q("SELECT opp_id, key, value FROM opp_attr ORDER BY opp_id, key")
            self.history = q(f"SELECT {', '.join(HIST_COLS)} FROM history ORDER BY opp_id, version")
            self.payments = q("SELECT opp_id, seq, amount, currency, at_ms, note FROM payment ORDER BY opp_id, seq")
            self.teams = q("SELECT owner, team FROM team_member ORDER BY team, owner")
            self.targets = q("SELECT * FROM target ORDER BY 1, 2, 3, 4, 5, 6")
            self.integrity = q("PRAGMA integrity_check")
        finally:
            db.close()

    def key(self):
        return (self.opps, self.attrs, self.history, self.payments, self.teams, self.targets)


def _s(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


class Model:
    """The expected answers for one store. Text must be UTF-8 here (callers
    only ask for stores whose rows are valid)."""

    def __init__(self, rows, pipeline):
        self.rows = rows
        self.stages = [s["name"] for s in pipeline["stages"]]
        self.prob = {s["name"]: s["probability"] for s in pipeline["stages"]}
        self.outcome = {s["name"]: s["outcome"] for s in pipeline["stages"]}
        self.opps = [dict(zip(OPP_COLS, map(_s, r))) for r in rows.opps]
        self.by_id = {o["id"]: o for o in self.opps}
        self.attrs = {}
        for opp_id, k, v in rows.attrs:
            self.attrs.setdefault(_s(opp_id), {})[_s(k)] = _s(v)
        self.history = {}
        for r in rows.history:
            h = dict(zip(HIST_COLS, map(_s, r)))
            self.history.setdefault(h["opp_id"], []).append(h)

    # ---- projections ----

    def opp_json(self, o):
        return {"id": o["id"], "stage": o["stage"], "version": o["version"], "probability": self.prob[o["stage"]],
                "amount": o["amount"], "currency": o["currency"], "customer": o["customer"], "owner": o["owner"],
                "title": o["title"], "expected_close_ms": o["expected_close_ms"], "created_ms": o["created_ms"],
                "updated_ms": o["updated_ms"], "stage_entered_ms": o["stage_entered_ms"],
                "attrs": self.attrs.get(o["id"], {})}

    def show(self, opp_id):
        return self.opp_json(self.by_id[opp_id])

    def list(self, stage=None):
        return [self.opp_json(o) for o in self.opps if stage is None or o["stage"] == stage]

    def payments(self, opp_id=None):
        return [{"opp_id": _s(p[0]), "seq": p[1], "amount": p[2], "currency": _s(p[3]), "at_ms": p[4],
                 "note": _s(p[5])} for p in self.rows.payments if opp_id is None or _s(p[0]) == opp_id]

    def teams(self):
        return [{"team": _s(t), "owner": _s(o)} for o, t in self.rows.teams]

    # ---- reports ----

    def _won(self, stage):
        return self.outcome.get(stage) == "won"

    def _moves(self, opp_id):
        """(stage, at_ms) each time the history put the opportunity into a
        stage other than the one it was in."""
        cur, out = None, []
        for h in self.history.get(opp_id, []):
            if h["to_stage"] != cur:
                out.append((h["to_stage"], h["at_ms"]))
                cur = h["to_stage"]
        return out

    def report_pipeline(self):
        groups = {}
        for o in self.opps:
            g = groups.setdefault((o["stage"], o["currency"]), [0, 0])
            g[0] += 1
            g[1] += o["amount"]
        rows = []
        for st in self.stages:
            for cur in sorted((c for s, c in groups if s == st), key=lambda c: (c is not None, c or "")):
                n, amount = groups[(st, cur)]
                rows.append([st, cur, n, amount, amount * self.prob[st] // 100])
        return {"report": "pipeline", "columns": ["stage", "currency", "count", "amount", "weighted"],
                "rows": rows}

    def report_win_rate(self):
        per = {}
        for o in self.opps:
            last = None
            prev = None
            for h in self.history.get(o["id"], []):
                if prev is not None and self.outcome.get(prev) == "open" and \
                        self.outcome.get(h["to_stage"]) in ("won", "lost"):
                    last = self.outcome[h["to_stage"]]
                prev = h["to_stage"]
            if last:
                c = per.setdefault(o["owner"] or "", [0, 0])
                c[0 if last == "won" else 1] += 1
        rows = []
        tw = tl = 0
        for owner in sorted(per, key=lambda s: s.encode()):
            w, lo = per[owner]
            tw, tl = tw + w, tl + lo
            rows.append([owner, w, lo, w * 10000 // (w + lo)])
        rows.append([None, tw, tl, tw * 10000 // (tw + tl) if tw + tl else None])
        return {"report": "win_rate", "columns": ["owner", "won", "lost", "rate_bp"], "rows": rows}

    @staticmethod
    def _stats(xs):
        xs = sorted(xs)
        return [len(xs), sum(xs) // len(xs), xs[(len(xs) - 1) // 2]]

    def report_velocity(self):
        stays, cycles = {}, {}
        for o in self.opps:
            moves = self._moves(o["id"])
            for (st, t), (_, t2) in zip(moves, moves[1:]):
                stays.setdefault(st, []).append(max(0, t2 - t))
            won = next((t for st, t in moves if self._won(st)), None)
            if won is not None:
                cycles.setdefault(o["owner"] or "", []).append(max(0, won - o["created_ms"]))
        rows = [[st, None, *self._stats(stays[st])] for st in self.stages if st in stays]
        rows += [["cycle", ow, *self._stats(cycles[ow])] for ow in sorted(cycles, key=lambda s: s.encode())]
        return {"report": "velocity", "columns": ["stage", "owner", "stays", "avg_ms", "median_ms"], "rows": rows}

    def report_receivables(self, now_lo, now_hi):
        """Without --as-of: outstanding_ms is now - won_ms for a now between
        now_lo and now_hi; returned as the pair (lo, hi) for the caller."""
        paid = {}
        for p in self.rows.payments:
            paid[_s(p[0])] = paid.get(_s(p[0]), 0) + p[2]
        rows, sums = [], {}
        for o in sorted((o for o in self.opps if self._won(o["stage"])), key=lambda o: o["id"].encode()):
            won_ms = next(t for st, t in self._moves(o["id"]) if self._won(st))
            got = paid.get(o["id"], 0)
            out = o["amount"] - got
            rows.append([o["id"], o["owner"], o["currency"], o["amount"], got, out, won_ms,
                         (max(0, now_lo - won_ms), max(0, now_hi - won_ms)) if out else None])
            s = sums.setdefault((o["owner"], o["currency"]), [0, 0, 0])
            for i, v in enumerate((o["amount"], got, out)):
                s[i] += v
        key = lambda k: tuple((x is not None, (x or "").encode()) for x in k)  # noqa: E731
        rows += [[None, ow, cur, *sums[(ow, cur)], None, None] for ow, cur in sorted(sums, key=key)]
        return {"report": "receivables",
                "columns": ["id", "owner", "currency", "won", "collected", "outstanding", "won_ms", "outstanding_ms"],
                "rows": rows}


def receivables_match(got, want):
    """got: the tool's JSON; want: report_receivables (ranges for now)."""
    if got.get("columns") != want["columns"] or len(got.get("rows", [])) != len(want["rows"]):
        return False
    for g, w in zip(got["rows"], want["rows"]):
        if g[:7] != w[:7]:
            return False
        if isinstance(w[7], tuple):
            if not isinstance(g[7], int) or not w[7][0] <= g[7] <= w[7][1]:
                return False
        elif g[7] != w[7]:
            return False
    return True
