"""Load: 16 threads mixing reads, writes, mkdir/rmdir and renames over 200
syncs with 20 ms of API latency.  A watchdog fails the test on any stall;
every write that close() acknowledged must be on the server; the daemon
must be alive afterwards and its memory must not grow between rounds.

LOAD_SECONDS (default 25) is the length of each of the two measured
rounds, after a warm-up of a third of that: about 60 s in all."""

import errno
import os
import random
import threading
import time

import pytest

from emulator import ACCOUNT_1, Emulator
from mount import Mount, memory_kib

ROUND_SECONDS = float(os.environ.get("LOAD_SECONDS", "25"))
STALL_SECONDS = 30
WRITERS, READERS, SHAPERS = 8, 4, 4


class Load:
    def __init__(self, mnt, names):
        self.mnt = mnt
        self.acct = mnt.path(ACCOUNT_1)
        self.names = names
        self.stop = threading.Event()
        self.progress = 0
        self.ops = {"read": 0, "write": 0, "mkdir": 0, "rmdir": 0, "rename": 0}
        self.failures = []
        self.acked = {}          # sync name -> last description close() accepted
        self.lock = threading.Lock()

    def count(self, op):
        with self.lock:
            self.ops[op] += 1
            self.progress += 1

    def fail(self, what):
        with self.lock:
            self.failures.append(what)

    def writer(self, i):
        rng = random.Random(i)
        mine = self.names[i::WRITERS][:20]
        n = 0
        while not self.stop.is_set():
            name = rng.choice(mine)
            value = f"w{i}-{n}"
            n += 1
            try:
                with open(os.path.join(self.acct, name, "description"), "w") as f:
                    f.write(value + "\n")
            except OSError as e:
                self.fail(f"write {name}: {e}")
                continue
            self.acked[name] = value
            self.count("write")

    def reader(self, i):
        rng = random.Random(100 + i)
        files = ["policy", "description", "status.json", "config.json", "name"]
        while not self.stop.is_set():
            name = rng.choice(self.names)
            try:
                if rng.random() < 0.1:
                    os.listdir(self.acct)
                else:
                    with open(os.path.join(self.acct, name, rng.choice(files)), "rb") as f:
                        f.read()
            except OSError as e:
                self.fail(f"read {name}: {e}")
                continue
            self.count("read")

    def shaper(self, i):
        """mkdir, rename and rmdir of its own syncs only."""
        n = 0
        while not self.stop.is_set():
            a, b = f"load-{i}-{n}", f"load-{i}-{n}-moved"
            n += 1
            try:
                os.mkdir(os.path.join(self.acct, a))
                self.count("mkdir")
                os.rename(os.path.join(self.acct, a), os.path.join(self.acct, b))
                self.count("rename")
                os.rmdir(os.path.join(self.acct, b))
                self.count("rmdir")
            except OSError as e:
                self.fail(f"shape {a}: {e}")

    def run(self, seconds):
        self.stop.clear()
        threads = [threading.Thread(target=self.writer, args=(i,)) for i in range(WRITERS)]
        threads += [threading.Thread(target=self.reader, args=(i,)) for i in range(READERS)]
        threads += [threading.Thread(target=self.shaper, args=(i,)) for i in range(SHAPERS)]
        for t in threads:
            t.daemon = True
            t.start()
        deadline = time.monotonic() + seconds
        last, last_change = -1, time.monotonic()
        self.peak_rss = 0
        while time.monotonic() < deadline:
            time.sleep(1)
            self.peak_rss = max(self.peak_rss, memory_kib(self.mnt.proc.pid))
            if self.progress != last:
                last, last_change = self.progress, time.monotonic()
            assert time.monotonic() - last_change < STALL_SECONDS, \
                f"no operation finished for {STALL_SECONDS} s: deadlock? {self.ops}"
            assert self.mnt.proc.poll() is None, "the daemon died"
        self.stop.set()
        for t in threads:
            t.join(STALL_SECONDS)
            assert not t.is_alive(), f"a thread is stuck: deadlock? {self.ops}"


def test_mixed_load_keeps_every_acknowledged_write(capsys):
    # a load test, not a budget test: neither the emulator's Ratelimit
    # header nor the mount's own budget ever runs out
    emu = Emulator("--syncs", "200", "--latency-ms", "20",
                   "--rate-limit-max", "1000000")
    try:
        with Mount(emu, "cache_ttl=2", "rate_limit=1000000/1",
                   accounts=[ACCOUNT_1]) as m:
            names = sorted(s["name"] for s in emu.syncs(ACCOUNT_1))[:200]
            load = Load(m, names)
            # a warm-up fills the caches, thread pools and malloc arenas
            load.run(ROUND_SECONDS / 3)
            load.run(ROUND_SECONDS)
            rss_first = load.peak_rss
            load.run(ROUND_SECONDS)
            rss_second = load.peak_rss
            assert load.failures == [], load.failures[:10]
            state = {s["name"]: s for s in emu.syncs(ACCOUNT_1)}
            for name, value in load.acked.items():
                assert state[name]["description"] == value, name
            assert not any(n.startswith("load-") for n in state)
            assert m.proc.poll() is None
            with capsys.disabled():
                print(f"\nload: {load.ops} over {ROUND_SECONDS * 7 / 3:.0f} s; "
                      f"daemon peak RSS {rss_first} KiB, then {rss_second} KiB")
            if not os.environ.get("CATSYNCFS_SANITIZED"):
                # a leak per operation would show as steady growth of the
                # peak from one round to the next
                assert rss_second <= rss_first * 1.05 + 1024, (rss_first, rss_second)
    finally:
        emu.stop()
