#!/usr/bin/env python3
"""Counts the FUSE requests of a warm `grep -r` over a whole account: what
the kernel still asks the daemon once its caches are warm.  Not a test.
Run as root on a machine with /dev/fuse, after a build:

    CATSYNCFS_BUILD_DIR=build /usr/bin/python3 tests/bench/opcodes.py
        [--syncs 1000] [--latency-ms 50] [--log PATH]

As tests/bench/bench.py does, it starts the emulator with --syncs
accounts' worth of syncs, mounts with cache_ttl=3600, runs `grep -r
tag:team-07 ACCOUNT_DIR` once cold and at once again warm, and prints the
warm run's FUSE requests by opcode.  They come from libfuse's own debug
dump ("unique: 12, opcode: LOOKUP (1), nodeid: ..., pid: ..."), which the
daemon's -d does not turn on (that logs API calls) but libfuse's --debug
does; catsyncfs hands that flag to libfuse untouched.  The dump goes to a
file on tmpfs, never a pipe that could fill and block the daemon; one
line per request and per answer is all it adds to each request.

A request is counted for the warm run when its line lies between the end
of the cold run (once the daemon's output is quiet for 50 ms, so that the
cold run's last RELEASEs are not counted; the warm run then starts at
once, as in bench.py) and the end of the warm run (once the output is
quiet for 300 ms, so that the warm run's own RELEASEs are).  The "grep"
column counts requests made by the grep process, "kernel" those the
kernel sends on its own (pid 0: RELEASE, RELEASEDIR, FORGET).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from emulator import ACCOUNT_1, Emulator  # noqa: E402
from mount import Mount, daemon_binary  # noqa: E402

REQUEST = re.compile(r"^unique: (\d+), opcode: (\w+) \((\d+)\), nodeid: (\d+), "
                     r"insize: (\d+), pid: (\d+)$")
ANSWER = re.compile(r"^   unique: (\d+), (success|error: (-?\d+))")


def log_size(m):
    return os.path.getsize(m.log_file.name)


def settle(m, quiet, most):
    """Waits until the daemon's output has not grown for `quiet` seconds
    (at most `most` seconds); returns its size then."""
    started = last_change = time.monotonic()
    size = log_size(m)
    while time.monotonic() - last_change < quiet and time.monotonic() - started < most:
        time.sleep(0.005)
        now = log_size(m)
        if now != size:
            size, last_change = now, time.monotonic()
    return size


def lines_between(m, start, end):
    """The whole lines of the daemon's output from byte `start` to `end`."""
    with open(m.log_file.name, "rb") as f:
        if start:
            f.seek(start - 1)
            if f.read(1) != b"\n":      # started mid-line: skip to the next
                f.readline()
        data = f.read(max(0, end - f.tell()))
    lines = data.decode(errors="replace").split("\n")
    return lines[:-1]                   # the last one may be cut


def grep(d):
    """Runs the workload; returns (its pid, seconds taken)."""
    started = time.perf_counter()
    proc = subprocess.Popen(["grep", "-r", "tag:team-07", d], stdout=subprocess.DEVNULL)
    code = proc.wait()
    if code != 0:
        sys.exit(f"grep -r exited {code}")
    return proc.pid, time.perf_counter() - started


def count(lines, grep_pid):
    """Per opcode: [requests, from grep, from the kernel (pid 0), error
    answers]."""
    rows, opcode_of, others = {}, {}, Counter()
    for line in lines:
        req = REQUEST.match(line)
        if req:
            unique, name, pid = req.group(1), req.group(2), int(req.group(6))
            row = rows.setdefault(name, [0, 0, 0, 0])
            row[0] += 1
            if pid == grep_pid:
                row[1] += 1
            elif pid == 0:
                row[2] += 1
            else:
                others[pid] += 1
            opcode_of[unique] = name
            continue
        ans = ANSWER.match(line)
        if ans and ans.group(3) and ans.group(1) in opcode_of:
            rows[opcode_of[ans.group(1)]][3] += 1
    return rows, others


def table(rows):
    out = ["| opcode | requests | grep | kernel | error answers |",
           "|---|---|---|---|---|"]
    for name, (n, by_grep, by_kernel, errors) in sorted(rows.items(),
                                                         key=lambda kv: (-kv[1][0], kv[0])):
        out.append(f"| {name} | {n} | {by_grep} | {by_kernel} | {errors} |")
    totals = [sum(r[i] for r in rows.values()) for i in range(4)]
    out.append("| total | " + " | ".join(str(t) for t in totals) + " |")
    return "\n".join(out)


def describe_build():
    head = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip() or "unknown"
    binary = daemon_binary()
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(binary)))
    return f"{binary} (built {built}; repository at {head})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syncs", type=int, default=1000)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--log", help="also keep the daemon's whole output here")
    args = ap.parse_args()

    emu = Emulator("--seed", "empty", "--syncs", str(args.syncs),
                   "--latency-ms", str(args.latency_ms), "--rate-limit-max", "10000000")
    try:
        # the daemon's output (and the mount point) on tmpfs
        saved, tempfile.tempdir = tempfile.tempdir, "/dev/shm"
        try:
            m = Mount(emu, "cache_ttl=3600", accounts=[ACCOUNT_1], args=["--debug"],
                      timeout=120)
        finally:
            tempfile.tempdir = saved
        try:
            d = m.path(ACCOUNT_1)
            _, cold_s = grep(d)
            cold_ended = time.perf_counter()
            start = settle(m, 0.05, 0.5)
            emu.clear_log()
            gap = time.perf_counter() - cold_ended
            warm_pid, warm_s = grep(d)
            api_calls = len(emu.log())
            end = settle(m, 0.3, 5)
            rows, others = count(lines_between(m, start, end), warm_pid)
            cold_rows, _ = count(lines_between(m, 0, start), -1)
            if args.log:
                shutil.copyfile(m.log_file.name, args.log)
        finally:
            m.__exit__(None, None, None)
    finally:
        emu.stop()

    print(f"daemon: {describe_build()}")
    print(f"{args.syncs} syncs, emulator latency {args.latency_ms} ms, cache_ttl=3600; "
          f"`grep -r tag:team-07 ACCOUNT_DIR`: cold {cold_s * 1000:.0f} ms, "
          f"{sum(r[0] for r in cold_rows.values())} FUSE requests (mount included); "
          f"warm {warm_s * 1000:.0f} ms, {api_calls} API requests, started "
          f"{gap * 1000:.0f} ms after the cold run ended")
    print()
    print("FUSE requests of the warm run:")
    print()
    print(table(rows))
    if others:
        print(f"\n(also from other processes: {dict(others)})")


if __name__ == "__main__":
    main()
