"""The request budget (SPEC "Request budget"): bulk edits that never trip
the rate limit, the server's Ratelimit header, and stats.json.

The emulator runs with a small sliding window (--rate-limit-window) so
that a test spans several windows in seconds, and the mount gets the same
rate_limit=REQUESTS/SECONDS.
"""

import errno
import json
import os
import subprocess
import threading
import time
from collections import Counter

import pytest

from emulator import ACCOUNT_1, ACCOUNT_2, Emulator
from mount import Mount, run_mount_command


def limited_emulator(limit, window_s, syncs, *extra):
    return Emulator("--syncs", str(syncs), "--rate-limit", "--rate-limit-max",
                    str(limit), "--rate-limit-window", str(window_s), *extra)


def generated_policies(m, account=ACCOUNT_1):
    folder = m.path(account)
    return [os.path.join(folder, d, "policy")
            for d in sorted(os.listdir(folder)) if d.startswith("sync-")]


def stats(m):
    with open(m.path("stats.json")) as f:
        return json.load(f)


def busiest_window(log, window_s):
    """The most requests the emulator counted in any window_s seconds."""
    times = sorted(e["t_ms"] for e in log)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window_s * 1000:
            j += 1
        best = max(best, i - j + 1)
    return best


def by_method(log):
    return Counter(e["method"] for e in log)


def assert_stats_match_log(s, log):
    counted = by_method(log)
    for method, n in s["requests"].items():
        assert n == counted.get(method, 0), (method, s["requests"], counted)
    assert sum(s["requests"].values()) == len(log)
    assert s["throttled"] == sum(1 for e in log if e["status"] == 429)


def test_bulk_sed_over_several_windows_finishes_without_a_429():
    # 30 syncs, 2 requests per save: 60 requests against 20 per 5 s
    with limited_emulator(20, 5, 30) as emu:
        with Mount(emu, "rate_limit=20/5", "cache_ttl=600",
                   accounts=[ACCOUNT_1]) as m:
            files = generated_policies(m)
            assert len(files) == 30
            started = time.monotonic()
            sed = subprocess.run(["sed", "-i", "s/include/INCLUDE/", *files],
                                 capture_output=True, text=True, timeout=120)
            took = time.monotonic() - started
            assert sed.returncode == 0, sed.stderr
            s = stats(m)
            log = m.log()
        policies = [sync["policy"] for sync in emu.syncs()
                    if sync["name"].startswith("sync-")]
        assert len(policies) == 30
        assert all("INCLUDE" in p and "include" not in p for p in policies)
        api = emu.log()
        assert [e for e in api if e["status"] == 429] == []
        assert busiest_window(api, 5) <= 20
        # one check read and one PATCH per save, plus the mount's listing
        assert by_method(api) == {"GET": 31, "PATCH": 30}
        # 60 writes at 18 per window (2 kept for reads): 3 waits of ~5 s
        assert 10 <= took < 40, took
        assert s["rate_limit"]["calls_waited"] >= 1
        # one line when waiting starts and one when it ends, not per call
        starts = log.count("request budget: calls wait")
        ends = log.count("request budget: waiting over")
        assert 1 <= starts <= 6 and ends == starts, log
        assert_stats_match_log(s, api)


def test_stats_json_equals_the_emulator_log_and_costs_nothing(emulator):
    with Mount(emulator, "cache_ttl=1", accounts=[ACCOUNT_1, ACCOUNT_2]) as m:
        s = stats(m)
        assert s["rate_limit"]["limit"] == 1200
        assert s["rate_limit"]["window_s"] == 300
        assert s["rate_limit"]["waiting"] == 0
        assert s["rate_limit"]["server"]["quota"] == 1200
        # reads of both accounts and their prebuilt policies
        os.listdir(m.path(ACCOUNT_1))
        os.listdir(m.path(ACCOUNT_2))
        os.listdir(m.path(ACCOUNT_1, "policies"))
        with open(m.path(ACCOUNT_1, "prod-vpcs", "policy")) as f:
            f.read()
        # two saves and a 429 that a retry absorbs
        with open(m.path(ACCOUNT_1, "prod-vpcs", "description"), "w") as f:
            f.write("budgeted\n")
        emulator.fault(method="PATCH", status=429, retry_after="1", count=1)
        with open(m.path(ACCOUNT_1, "prod-vpcs", "description"), "w") as f:
            f.write("budgeted again\n")
        api = emulator.log()
        assert any(e["status"] == 429 for e in api)
        s = stats(m)
        assert_stats_match_log(s, api)
        assert s["throttled"] == 1
        assert s["requests"]["PATCH"] == 3
        assert s["rate_limit"]["used"] == len(api)
        server = s["rate_limit"]["server"]
        assert server["quota"] == 1200 and server["window_s"] == 300
        assert server["remaining"] == 1200 - len(api)
        # reading it sends nothing, however often; stat's size is exact
        before = len(emulator.log())
        for _ in range(5):
            size = os.stat(m.path("stats.json")).st_size
            with open(m.path("stats.json"), "rb") as f:
                assert len(f.read()) == size
        assert len(emulator.log()) == before
        # it is listed, read-only, and refuses writes
        assert "stats.json" in os.listdir(m.dir)
        assert os.stat(m.path("stats.json")).st_mode & 0o777 == 0o444
        with pytest.raises(OSError) as e:
            os.open(m.path("stats.json"), os.O_WRONLY)
        assert e.value.errno == errno.EACCES


def test_stats_json_is_erofs_under_ro(emulator):
    with Mount(emulator, "ro", accounts=[ACCOUNT_1]) as m:
        with pytest.raises(OSError) as e:
            os.open(m.path("stats.json"), os.O_WRONLY)
        assert e.value.errno in (errno.EROFS, errno.EACCES)
        assert json.loads(open(m.path("stats.json")).read())["throttled"] == 0


def test_quota_spent_by_another_client_is_waited_for():
    with limited_emulator(40, 6, 10) as emu:
        with Mount(emu, "rate_limit=40/6", "cache_ttl=600",
                   accounts=[ACCOUNT_1]) as m:
            files = generated_policies(m)
            # another client of the same user: 34 of the window's 40
            for _ in range(34):
                assert emu.request("GET", "/accounts")[0] == 200
            started = time.monotonic()
            sed = subprocess.run(["sed", "-i", "s/include/INCLUDE/", *files],
                                 capture_output=True, text=True, timeout=60)
            took = time.monotonic() - started
            assert sed.returncode == 0, sed.stderr
            s = stats(m)
        api = emu.log()
        assert [e for e in api if e["status"] == 429] == []
        assert busiest_window(api, 6) <= 40
        # our own window alone (21 of 40) would never have waited
        assert s["rate_limit"]["calls_waited"] >= 1
        assert took >= 2, took
        assert s["rate_limit"]["server"]["quota"] == 40
        assert all("INCLUDE" in sync["policy"] for sync in emu.syncs()
                   if sync["name"].startswith("sync-"))


def test_cold_listing_of_another_account_answers_during_a_bulk_edit():
    """While a bulk edit waits for budget, `ls` of an account never listed
    answers within 2 s (one listing round trip, from the slots kept for
    reads: it does not queue behind the writes)."""
    with limited_emulator(20, 10, 40) as emu:
        with Mount(emu, "rate_limit=20/10", "cache_ttl=600",
                   accounts=[ACCOUNT_1, ACCOUNT_2]) as m:
            files = generated_policies(m)
            sed = subprocess.Popen(["sed", "-i", "s/include/INCLUDE/", *files],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 20
                while stats(m)["rate_limit"]["waiting_writes"] == 0:
                    assert time.monotonic() < deadline, "the edit never waited"
                    assert sed.poll() is None
                    time.sleep(0.05)
                started = time.monotonic()
                names = [n for n in os.listdir(m.path(ACCOUNT_2))
                         if n not in ("last_error", "policies")]
                with open(m.path(ACCOUNT_2, names[0], "policy")) as f:
                    f.read()
                took = time.monotonic() - started
                assert stats(m)["rate_limit"]["waiting_writes"] >= 1
            finally:
                sed.kill()
                sed.wait()
            assert took < 2.0, took
            assert emu.api_calls("GET", ACCOUNT_2 + "/magic/cloud/catalog-syncs$")
        api = emu.log()
        assert [e for e in api if e["status"] == 429] == []
        assert busiest_window(api, 10) <= 20


@pytest.mark.parametrize("value", ["abc", "0/300", "10/0", "1200", "1200/",
                                   "/300", "12x/300", "-5/300", "1200/300/1",
                                   "99999999999/1", "10/100000"])
def test_bad_rate_limit_is_refused_with_exit_1(emulator, value):
    code, out, _ = run_mount_command(emulator, f"rate_limit={value}",
                                     token=emulator.token)
    assert code == 1
    assert f"rate_limit='{value}' is not REQUESTS/SECONDS" in out
    assert emulator.log() == []


def test_ratelimit_header_garbage_neither_crashes_nor_stalls(emulator):
    """Malformed, missing or odd Ratelimit headers: every call still
    answers, and nothing waits."""
    values = ['"default";r=0;t=99999999999', 'garbage', '"default";r=-1;t=5',
              '"a";r=5;t=1, "b";r=', ';;;,,,', '"default";r=1.5;t=2',
              '"x";r=0;t=0', '"default";t=1', '"' + "a" * 600]
    with Mount(emulator, "cache_ttl=0", accounts=[ACCOUNT_1]) as m:
        for v in values:
            emulator.fault(method="GET", path="/catalog-syncs$", action="body",
                           status=200,
                           body='{"success":true,"errors":[],"messages":[],"result":[]}',
                           headers={"Ratelimit": v, "Ratelimit-Policy": v},
                           count=1)
            started = time.monotonic()
            os.listdir(m.path(ACCOUNT_1))
            assert time.monotonic() - started < 5, v
        s = stats(m)
        assert s["rate_limit"]["waiting"] == 0
