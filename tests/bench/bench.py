#!/usr/bin/env python3
"""catsyncfs benchmark: API requests, wall time and memory per workload,
side by side with the floor (the same tree on tmpfs) and with what a user
scripts today (curl + jq).  Not a test: it prints ratios and never fails
on timings.  Run as root on a machine with /dev/fuse, after a build:

    /usr/bin/python3 tests/bench/bench.py [--syncs 100,1000,10000]
        [--latency-ms 50] [--runs 5] [--readme]

--readme also writes the table into README.md's Performance section.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from emulator import ACCOUNT_1, Emulator, syncs_path  # noqa: E402
from mount import Mount, memory_kib  # noqa: E402

READS = {
    "ls -lR": "ls -lR {d} > /dev/null",
    "find -type f | wc -l": "find {d} -type f | wc -l > /dev/null",
    "grep -r TAG": "grep -r tag:team-07 {d} > /dev/null",
    "cat */policy": "cat {d}/*/policy > /dev/null",
    "rsync -a (empty dest)": "rsync -a {d}/ {t}/",
    "rsync -a (unchanged)": "rsync -a {d}/ {t}/",
}


def empty_dest(name, target):
    """Before each timed run of the empty-dest rsync, untimed: removing
    the last copy's 110,000 files is not the workload."""
    if "empty dest" in name:
        shutil.rmtree(target, ignore_errors=True)


def sh(cmd):
    started = time.perf_counter()
    subprocess.run(["bash", "-c", cmd], check=True)
    return time.perf_counter() - started


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Bench:
    def __init__(self, n, latency, runs):
        self.n, self.latency, self.runs = n, latency, runs
        self.rows = []
        # a window the curl+jq baseline (n+1 requests a run) never fills,
        # so that the mount is never paced by the emulator's Ratelimit
        self.emu = Emulator("--seed", "empty", "--syncs", str(n),
                            "--latency-ms", str(latency),
                            "--rate-limit-max", "10000000")
        status, _, body = self.emu.request("GET", syncs_path(ACCOUNT_1))
        import json
        self.listing_bytes = len(json.dumps(body).encode())
        # on tmpfs, like the floor: an rsync into ext4 right after the
        # last copy was deleted measured the disk's journal (10x slower
        # than into a fresh folder), not the filesystem under test
        self.work = tempfile.mkdtemp(prefix="catsyncfs-bench-", dir="/dev/shm")

    def close(self):
        self.emu.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def requests(self):
        return len(self.emu.log())

    def mount(self):
        started = time.perf_counter()
        m = Mount(self.emu, "cache_ttl=3600", accounts=[ACCOUNT_1], timeout=120)
        return m, time.perf_counter() - started

    def measure(self, name, cmd, floor_dir):
        target = os.path.join(self.work, "rsync-target")
        cold, warm, floor, cold_req, warm_req, rss = [], [], [], [], [], 0
        for _ in range(self.runs):
            m, _ = self.mount()
            try:
                d = m.path(ACCOUNT_1)
                if "unchanged" in name:     # needs a first copy to compare to
                    empty_dest("empty dest", target)
                    sh(READS["rsync -a (empty dest)"].format(d=d, t=target))
                empty_dest(name, target)
                self.emu.clear_log()
                cold.append(sh(cmd.format(d=d, t=target)))
                cold_req.append(self.requests())
                empty_dest(name, target)
                self.emu.clear_log()
                warm.append(sh(cmd.format(d=d, t=target)))
                warm_req.append(self.requests())
                rss = max(rss, memory_kib(m.proc.pid, "VmHWM"))
            finally:
                m.__exit__(None, None, None)
            empty_dest(name, target + "-floor")
            floor.append(sh(cmd.format(d=floor_dir, t=target + "-floor")))
        self.rows.append({
            "workload": name, "cold": median(cold), "warm": median(warm),
            "floor": median(floor), "cold_req": max(cold_req),
            "warm_req": max(warm_req), "rss": rss})

    def measure_writes(self, name, body):
        times, reqs, rss = [], [], 0
        m, _ = self.mount()
        try:
            d = m.path(ACCOUNT_1)
            for _ in range(self.runs):
                self.emu.clear_log()
                times.append(sh(body.format(d=d)))
                reqs.append(self.requests())
            rss = memory_kib(m.proc.pid, "VmHWM")
        finally:
            m.__exit__(None, None, None)
        self.rows.append({"workload": name, "cold": None, "warm": median(times),
                          "floor": None, "cold_req": None, "warm_req": max(reqs),
                          "rss": rss})

    def list_round_trip(self):
        """The mount's one API call, timed by curl with the body thrown
        away: what "one round trip" means at this size."""
        path = f"{self.emu.base_url}/accounts/{ACCOUNT_1}/magic/cloud/catalog-syncs"
        auth = f"Authorization: Bearer {self.emu.token}"
        return median([sh(f"curl -sf -o /dev/null -H '{auth}' {path}")
                       for _ in range(self.runs)])

    def script(self, per_sync):
        """curl + jq, as a user scripts it today."""
        out = os.path.join(self.work, "script")
        base = self.emu.base_url
        auth = f"Authorization: Bearer {self.emu.token}"
        path = f"{base}/accounts/{ACCOUNT_1}/magic/cloud/catalog-syncs"
        if per_sync:
            cmd = (f"rm -rf {out}; mkdir -p {out}; "
                   f"for id in $(curl -sf -H '{auth}' {path} | jq -r '.result[].id'); do "
                   f"curl -sf -H '{auth}' {path}/$id | jq -r .result.policy > {out}/$id; done")
        else:
            cmd = (f"rm -rf {out}; mkdir -p {out}; "
                   f"curl -sf -H '{auth}' {path} | jq -r '.result[].policy' > {out}/all")
        runs = self.runs if not per_sync or self.n <= 100 else 1
        times = []
        for _ in range(runs):
            self.emu.clear_log()
            times.append(sh(cmd))
        return median(times), self.requests(), runs

    def run(self):
        m, mount_time = self.mount()
        floor_dir = os.path.join("/dev/shm", f"catsyncfs-floor-{os.getpid()}")
        try:
            shutil.rmtree(floor_dir, ignore_errors=True)
            sh(f"rsync -a {m.path(ACCOUNT_1)}/ {floor_dir}/")
        finally:
            m.__exit__(None, None, None)
        mounts = []
        for _ in range(self.runs):
            mm, t = self.mount()
            mm.__exit__(None, None, None)
            mounts.append(t)
        self.mount_time = median(mounts)
        self.list_rtt = self.list_round_trip()
        try:
            for name, cmd in READS.items():
                self.measure(name, cmd, floor_dir)
        finally:
            shutil.rmtree(floor_dir, ignore_errors=True)
        self.measure_writes("100 x echo > description",
                            "for i in $(seq 100); do echo $i > {d}/sync-00001/description; done")
        self.measure_writes("10 x mkdir + rmdir",
                            "for i in $(seq 10); do mkdir {d}/bench-$i && rmdir {d}/bench-$i; done")
        self.script_get = self.script(per_sync=True)
        self.script_list = self.script(per_sync=False)


def commit():
    out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def fmt(x, unit="s"):
    if x is None:
        return "-"
    if unit == "s":
        return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"
    return str(x)


def ratio(a, b):
    if a is None or b is None or not b:
        return "-"
    return f"{a / b:.2f}x"


def table(benches, latency, runs):
    lines = [f"Median of {runs} runs; emulator latency {latency} ms per request; "
             f"catsyncfs with cache_ttl=3600. cold = first run on a fresh mount, "
             f"warm = the same command again; floor = the same tree on tmpfs.", ""]
    for b in benches:
        lines += [f"**{b.n} syncs** (listing {b.listing_bytes / 1e6:.1f} MB of JSON; "
                  f"mount {fmt(b.mount_time)}, the list round trip alone "
                  f"{fmt(b.list_rtt)}; peak RSS "
                  f"{max(r['rss'] for r in b.rows) / 1024:.1f} MiB, budget "
                  f"{(2 * b.listing_bytes / 2**20 + 16):.1f} MiB)", "",
                  "| workload | requests cold/warm | cold | warm | floor | warm/floor | cold/floor |",
                  "|---|---|---|---|---|---|---|"]
        for r in b.rows:
            reqs = (f"{r['cold_req']}/{r['warm_req']}" if r["cold_req"] is not None
                    else f"{r['warm_req']} per run")
            lines.append(f"| {r['workload'].replace('|', chr(92) + '|')} | {reqs} | {fmt(r['cold'])} | {fmt(r['warm'])} "
                         f"| {fmt(r['floor'])} | {ratio(r['warm'], r['floor'])} "
                         f"| {ratio(r['cold'], r['floor'])} |")
        cat = next(r for r in b.rows if r["workload"] == "cat */policy")
        (gt, greq, gruns), (lt, lreq, lruns) = b.script_get, b.script_list
        lines += ["", "| read every policy | requests | time | this / catsyncfs cold |",
                  "|---|---|---|---|",
                  f"| catsyncfs `cat */policy`, cold | {cat['cold_req']} | {fmt(cat['cold'])} | 1x |",
                  f"| curl+jq: list, then GET per sync ({gruns} run) | {greq} | {fmt(gt)} "
                  f"| {ratio(gt, cat['cold'])} |",
                  f"| curl+jq: list alone | {lreq} | {fmt(lt)} | {ratio(lt, cat['cold'])} |", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syncs", default="100,1000,10000")
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--readme", action="store_true")
    args = ap.parse_args()
    benches = []
    for n in [int(x) for x in args.syncs.split(",")]:
        print(f"== {n} syncs", flush=True)
        b = Bench(n, args.latency_ms, args.runs)
        try:
            b.run()
        finally:
            b.close()
        benches.append(b)
    text = table(benches, args.latency_ms, args.runs)
    print(text)
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write(f"# Benchmark results\n\nMade by `tests/bench/bench.py` on "
                f"{time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores; the daemon "
                f"built from commit {commit()}).\n\n" + text + "\n")
    if args.readme:
        readme = os.path.join(REPO, "README.md")
        with open(readme) as f:
            s = f.read()
        s = re.sub(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)",
                   lambda mo: mo.group(1) + text + "\n" + mo.group(2), s, flags=re.S)
        with open(readme, "w") as f:
            f.write(s)


if __name__ == "__main__":
    main()
