#!/usr/bin/env python3
"""A sales quarter on a SQLite store, then the reports a manager reads on Monday.

    python3 bindings/python/examples/quarter_on_sqlite.py [DB_PATH]

Three reps work 40 deals through the default pipeline over the first quarter
of 2026 (a fixed seed and an injected clock, so every run prints the same),
a payment comes in for some won deals, and the script prints the pipeline,
the forecast for the quarter, the win rates and the attainment against the
quarter's targets. Without DB_PATH it uses a temporary file.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile

import salesfsm
from salesfsm import Engine, Period, Pipeline, Store

DAY = 86_400_000
REPS = {"li": "east", "wang": "east", "zhao": "west"}
PATH = ("qualify", "quote", "negotiate", "sign")


def simulate(engine: Engine, clock: list[int], rng: random.Random) -> None:
    start, _ = Period.quarter(2026, 1).bounds()
    clock[0] = start
    for rep, team in REPS.items():
        engine.set_team(rep, team)
        engine.split_target(rep, 2026, 16_000_000_00, "CNY", into="quarter")
    for team in sorted(set(REPS.values())):
        members = sum(1 for t in REPS.values() if t == team)
        engine.split_target(team, 2026, members * 16_000_000_00, "CNY", into="quarter",
                            weights=[3, 2, 2, 3], kind="team")
    deals = []
    with engine.batch():  # one transaction for the set-up
        for i in range(40):
            rep = rng.choice(sorted(REPS))
            deals.append(engine.create(f"deal-{i:03d}", customer=f"customer {i % 17}", owner=rep,
                                       amount=rng.randrange(50_000, 900_000) * 100,
                                       currency="CNY", title=f"deal {i}",
                                       expected_close=start + rng.randrange(20, 85) * DAY))
    for day in range(85):
        clock[0] = start + day * DAY + 9 * 3_600_000
        for opp in deals:
            if opp.stage in ("signed", "lost") or rng.random() > 0.08:
                continue
            if opp.stage == "quoted" and rng.random() < 0.25:
                opp.fire("lose", actor=opp.owner, role="rep", note="price")
                continue
            event = PATH[("lead", "qualified", "quoted", "negotiating").index(opp.stage)]
            role = "manager" if event == "sign" else "rep"
            opp.fire(event, actor=opp.owner, role=role)
            if event == "sign" and rng.random() < 0.6:
                engine.add_payment(opp.id, opp.amount // 2, "CNY", note="50% on signing")


def show(report: salesfsm.Report) -> None:
    print(f"\n== {report.name} ==")
    widths = [max(len(str(c)), *(len(str(r[i])) for r in report.rows)) if report.rows
              else len(c) for i, c in enumerate(report.columns)]
    print("  ".join(c.ljust(w) for c, w in zip(report.columns, widths)))
    for row in report.rows:
        print("  ".join(("" if v is None else str(v)).ljust(w) for v, w in zip(row, widths)))


def main() -> int:
    tmp = None
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "quarter.db")
    clock = [0]
    with Pipeline.default() as pipeline, Store.sqlite(path, synchronous="normal") as store, \
            Engine(pipeline, store) as engine:
        engine.set_clock(lambda: clock[0])
        simulate(engine, clock, random.Random(2026))
        q1 = Period.quarter(2026, 1)
        _, end = q1.bounds()
        clock[0] = end
        print(f"salesfsm {salesfsm.library_version()} on {store.description}")
        show(engine.report("pipeline"))
        show(engine.report("forecast", period=q1))
        show(engine.report("win_rate", period=q1))
        show(engine.report("attainment", period=q1))
        receivables = engine.report("receivables")
        totals = [r for r in receivables if r["id"] is None]
        print("\n== receivables per owner ==")
        for r in totals:
            print(f"{r['owner']:6} won {r['won'] / 100:>12,.2f} {r['currency']}  "
                  f"collected {r['collected'] / 100:>12,.2f}  "
                  f"outstanding {r['outstanding'] / 100:>12,.2f}")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
