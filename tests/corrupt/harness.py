"""Running the salesfsm tool over a store and judging one run.

The binary is named by SALESFSM_CLI (tests/corrupt.cmake sets it; the
sanitizer build's binary under SALESFSM_SANITIZE). Every command runs on its
own copy of the store, so a command that writes cannot disturb another and
each copy can be compared byte for byte afterwards. Commands run on a small
thread pool (SALESFSM_CORRUPT_JOBS, default: the number of CPUs, at most 4).
"""
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

CLI = os.environ.get("SALESFSM_CLI")
JOBS = max(1, min(4, int(os.environ.get("SALESFSM_CORRUPT_JOBS", "0")) or (os.cpu_count() or 1)))
TIMEOUT = 60

# A terminal acts on C0 controls (but newline and tab), DEL and C1 controls.
# JSON must escape C0 controls only: C1 controls and DEL may stand raw in it.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
RAW_CONTROL_JSON = re.compile("[\x00-\x08\x0b-\x1f]")


class Run:
    """One finished command: its arguments (without --db), exit status,
    output as bytes, and whether its copy of the store was changed."""

    def __init__(self, key, args, rc, out, err, changed, t0, t1):
        self.key, self.args, self.rc, self.out, self.err = key, args, rc, out, err
        self.changed, self.t0, self.t1 = changed, t0, t1

    def cmdline(self):
        return "salesfsm " + " ".join(_shell(a) for a in self.args) + " --db STORE"

    def excerpt(self, limit=400):
        def cut(b):
            s = b.decode("utf-8", "backslashreplace")
            return s if len(s) <= limit else s[:limit] + f"... ({len(b)} bytes)"
        return f"exit {self.rc}; stderr: {cut(self.err).strip()!r}; stdout: {cut(self.out)!r}"


def _shell(a):
    return a if re.fullmatch(r"[\w.,:@/=+-]+", a) else repr(a)


def run_one(store, workdir, key, args, index):
    """Runs `salesfsm ARGS --db COPY` on a fresh copy of store."""
    copy = os.path.join(workdir, f"c{index}.db")
    shutil.copyfile(store, copy)
    with open(copy, "rb") as f:
        before = f.read()
    argv = [CLI, *[a.replace("{DIR}", workdir) for a in args], "--db", copy]
    t0 = int(time.time() * 1000)
    try:
        p = subprocess.run(argv, cwd=workdir, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "timeout", e.stdout or b"", e.stderr or b""
    t1 = int(time.time() * 1000)
    with open(copy, "rb") as f:
        changed = f.read() != before
    return Run(key, args, rc, out, err, changed, t0, t1)


def run_all(store, workdir, commands):
    """commands: [(key, args)]. Returns {key: Run}."""
    os.makedirs(workdir, exist_ok=True)
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        futs = [pool.submit(run_one, store, workdir, key, args, i) for i, (key, args) in enumerate(commands)]
        return {f.result().key: f.result() for f in futs}


def basic_problems(run, names):
    """What is wrong with a run whatever the store held: a signal, an exit
    status other than 0/1, a sanitizer report, output that is not UTF-8 or
    holds raw control characters, a failure without one clear message that
    names one of `names`, --json output that does not parse."""
    p = []
    if run.rc == "timeout":
        return [f"no answer within {TIMEOUT} s"]
    if run.rc < 0:
        p.append(f"killed by signal {-run.rc}")
    elif run.rc not in (0, 1):
        p.append(f"exit status {run.rc} (only 0 and 1 may happen here)")
    if b"Sanitizer" in run.err or b"runtime error:" in run.err:
        p.append("sanitizer report")
    texts = {}
    is_json = "--json" in run.args or run.args[0] == "export"
    for name, data in (("stdout", run.out), ("stderr", run.err)):
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError as e:
            p.append(f"{name} is not UTF-8 ({e.reason} at byte {e.start})")
            texts[name] = data.decode("utf-8", "replace")
        m = (RAW_CONTROL_JSON if is_json and name == "stdout" else RAW_CONTROL).search(texts[name])
        if m:
            p.append(f"raw control character {m.group()!r} on {name} (defect 7)")
    if run.rc == 1:
        lines = texts["stderr"].splitlines()
        if not lines or not lines[0].startswith("salesfsm: "):
            p.append("failed without a 'salesfsm: ...' message")
        elif len(lines) != 1:
            p.append(f"failed with {len(lines)} lines on stderr, not one message")
        elif names and not any(n in lines[0] for n in names):
            p.append(f"the message names none of {names}")
    if run.rc == 0 and "--json" in run.args:
        try:
            json.loads(texts["stdout"])
        except ValueError as e:
            p.append(f"--json output is not JSON ({e})")
    return p


def json_out(run):
    return json.loads(run.out.decode("utf-8"))
