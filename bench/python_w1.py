#!/usr/bin/env python3
"""W1 of BENCH.md through the Python bindings, next to the same workload in C.

    python3 bench/python_w1.py [-n N] [-r RUNS] [--build DIR] [--fires-for-rss M]

In one run: the C benchmark (DIR/bench/transitions -n N --json) gives ns per
transition in C; then the same workload runs here through salesfsm (ctypes):
N opportunities with an amount and a customer, each driven through qualify,
quote, negotiate, sign, deliver, service as one `manager`, a Python after
hook counting. Binding overhead = Python ns/transition - C ns/transition.
Then RSS is followed over M fires (default 1 000 000) in rounds, each on a
fresh store closed at its end: with nothing leaking, RSS stays flat.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = ("qualify", "quote", "negotiate", "sign", "deliver", "service")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def c_figures(build: str, n: int, runs: int) -> dict[str, float]:
    exe = os.path.join(build, "bench", "transitions")
    out = subprocess.run([exe, "-n", str(n), "-r", str(runs), "--json"], check=True,
                         capture_output=True, text=True).stdout
    doc = json.loads(out)
    return {r["metric"]: r["median"] for r in doc["results"] if r["workload"] == "W1"}


def python_w1(salesfsm, n: int) -> tuple[float, float]:
    """(ns per transition, ns per create) of one W1 run through the bindings."""
    with salesfsm.Pipeline.default() as p, salesfsm.Store.memory() as s, \
            salesfsm.Engine(p, s) as e:
        count = [0]

        def after(_t):
            count[0] += 1
        e.on_after(after)
        t0 = time.perf_counter_ns()
        opps = [e.create(customer=f"customer {i % 997}", amount=100000 + i, currency="CNY")
                for i in range(n)]
        t1 = time.perf_counter_ns()
        for o in opps:
            for ev in EVENTS:
                o.fire(ev, actor="bench", role="manager")
        t2 = time.perf_counter_ns()
        if count[0] != 6 * n:
            sys.exit(f"after hook ran {count[0]} times, expected {6 * n}")
        if any(o.stage != "serviced" or o.version != 7 for o in opps):
            sys.exit("an opportunity did not end in serviced at version 7")
        if len(list(e.history(opps[-1].id))) != 7:
            sys.exit("history of the last opportunity is not 7 entries")
        for o in opps:
            o.close()
        return (t2 - t1) / (6 * n), (t1 - t0) / n


def rss_over_fires(salesfsm, fires: int, round_opps: int) -> list[tuple[int, int]]:
    """(fires so far, RSS bytes) after each round: a fresh memory store, round_opps
    opportunities through W1 with a Python after hook, everything closed again.
    With nothing leaking, RSS stays flat from round to round."""
    points = []
    done = 0
    p = salesfsm.Pipeline.default()
    while done < fires:
        with salesfsm.Store.memory() as s, salesfsm.Engine(p, s) as e:
            e.on_after(lambda _t: None)
            for i in range(round_opps):
                with e.create(customer="c", amount=1 + i, currency="EUR") as o:
                    for ev in EVENTS:
                        o.fire(ev, actor="bench", role="manager")
        done += 6 * round_opps
        gc.collect()
        points.append((done, rss_bytes()))
    p.close()
    return points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100_000, help="opportunities per run (100000)")
    ap.add_argument("-r", type=int, default=3, help="timed runs of each side (3)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="CMake build dir")
    ap.add_argument("--fires-for-rss", type=int, default=1_000_000,
                    help="fires over which RSS is followed (1000000; 0 skips)")
    args = ap.parse_args()

    os.environ.setdefault("SALESFSM_LIBRARY",
                          os.path.join(args.build, "lib", "libsalesfsm.so.0"))
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import salesfsm

    c = c_figures(args.build, args.n, args.r)
    py = [python_w1(salesfsm, args.n) for _ in range(args.r)]
    py_fire = statistics.median(x[0] for x in py)
    py_create = statistics.median(x[1] for x in py)
    c_fire = c["ns_per_transition_name"]
    print(f"W1, N = {args.n}, median of {args.r} runs each, library {salesfsm.library_path()}")
    print(f"  C       ns/transition (by name): {c_fire:9.1f}")
    print(f"  Python  ns/transition          : {py_fire:9.1f}"
          f"   (runs: {', '.join(f'{x[0]:.0f}' for x in py)})")
    print(f"  binding overhead per fire      : {py_fire - c_fire:9.1f} ns   (target <= 3000)")
    print(f"  Python  ns/create              : {py_create:9.1f}"
          f"   (C: {1e9 / c['opps_created_per_s']:.1f})")
    if args.fires_for_rss:
        round_opps = 10_000
        points = rss_over_fires(salesfsm, args.fires_for_rss, round_opps)
        first_fires, first_rss = points[0]
        last_fires, last_rss = points[-1]
        print(f"RSS over {last_fires} fires in rounds of {round_opps} opportunities "
              "(each round a fresh store, all closed after it):")
        print(f"  after the first round {first_rss / 2**20:.1f} MiB, after the last "
              f"{last_rss / 2**20:.1f} MiB, peak {max(r for _, r in points) / 2**20:.1f} MiB")
        print(f"  growth after the first round: {(last_rss - first_rss) / 1024:.0f} KiB = "
              f"{(last_rss - first_rss) / max(last_fires - first_fires, 1):.2f} B per fire")

if __name__ == "__main__":
    main()
