"""SPEC "Faults": a slow, failing, dying or hostile API ends each affected
call in the documented errno within a bound, never hangs what does not
need it, never crashes the daemon, and recovers without a remount."""

import errno
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from emulator import ACCOUNT_1, ACCOUNT_2, Emulator
from mount import Mount, daemon_binary, errno_of, is_mounted

LIST = r"/catalog-syncs$"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def timed(fn, *args):
    started = time.monotonic()
    result = errno_of(fn, *args)
    return result, time.monotonic() - started


@pytest.fixture
def mnt(emulator):
    with Mount(emulator, "cache_ttl=60", "timeout=2", accounts=[ACCOUNT_1, ACCOUNT_2]) as m:
        m.acct = m.path(ACCOUNT_1)
        yield m


def expire(m, emu):
    m.drop_cache()
    time.sleep(1.1)     # the kernel's own one-second caches
    emu.clear_log()


def test_429_with_retry_after_then_success(emulator, mnt):
    expire(mnt, emulator)
    emulator.fault("GET", LIST, status=429, retry_after="1", count=1)
    err, took = timed(os.listdir, mnt.acct)
    assert err == 0
    assert 0.9 <= took < 5
    assert len(emulator.api_calls("GET", LIST)) == 2


def test_burst_of_5xx_then_success(emulator, mnt):
    expire(mnt, emulator)
    emulator.fault("GET", LIST, status=503, count=1)
    emulator.fault("GET", LIST, status=500, count=1)
    assert errno_of(os.listdir, mnt.acct) == 0
    assert len(emulator.api_calls("GET", LIST)) == 3


def test_every_request_failing_is_eio_within_bound_then_recovers(emulator, mnt):
    expire(mnt, emulator)
    emulator.fault("*", ".*", status=500, count=-1)
    err, took = timed(os.listdir, mnt.acct)
    assert err == errno.EIO
    assert took < 3 * 2 + 0.5 + 1.0 + 2        # attempts x timeout + backoff
    assert len(emulator.api_calls("GET", LIST)) == 3
    assert b"500" in read(os.path.join(mnt.acct, "last_error"))
    emulator.clear_faults()
    assert "prod-vpcs" in os.listdir(mnt.acct)


def test_long_retry_after_fails_at_once_with_eagain(emulator, mnt):
    expire(mnt, emulator)
    emulator.fault("GET", LIST, status=429, retry_after="300", count=1)
    err, took = timed(os.listdir, mnt.acct)
    assert err == errno.EAGAIN and took < 2


def test_connection_reset_mid_body_is_retried(emulator, mnt):
    expire(mnt, emulator)
    emulator.fault("GET", LIST, action="reset", count=1)
    assert errno_of(os.listdir, mnt.acct) == 0
    assert len(emulator.api_calls("GET", LIST)) == 2


def test_hanging_api_fails_the_write_in_bounded_time_while_the_rest_answers(emulator, mnt):
    policy = os.path.join(mnt.acct, "prod-vpcs", "policy")
    others = [os.path.join(mnt.acct, s["name"], "description")
              for s in emulator.syncs(ACCOUNT_1)]
    for path in others:
        read(path)
    emulator.fault("PATCH", ".*", action="hang", seconds=120, count=-1)
    result = {}

    def writer():
        fd = os.open(policy, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b"new policy\n")
        started = time.monotonic()
        result["errno"] = errno_of(os.close, fd)
        result["took"] = time.monotonic() - started

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.5)
    # meanwhile: cached reads, ls of cached folders, df: each at once
    checks = [lambda p=p: read(p) for p in others] + [
        lambda: os.listdir(mnt.acct), lambda: os.listdir(os.path.join(mnt.acct, "eu-subnets")),
        lambda: os.statvfs(mnt.dir), lambda: os.listdir(mnt.path(ACCOUNT_2))]
    for check in checks:
        done = threading.Event()
        threading.Thread(target=lambda c=check: (c(), done.set()), daemon=True).start()
        assert done.wait(1.0), "a call that needs no API answer waited for the hung one"
    t.join(30)
    assert not t.is_alive()
    assert result["errno"] == errno.ETIMEDOUT
    assert result["took"] < 3 * 2 + 1.5 + 3
    emulator.clear_faults()
    assert b"timed out" in read(os.path.join(mnt.acct, "prod-vpcs", "last_error")).lower() \
        or b"timeout" in read(os.path.join(mnt.acct, "prod-vpcs", "last_error")).lower()


def test_hanging_listing_times_out_the_read(emulator, mnt):
    expire(mnt, emulator)
    emulator.fault("GET", LIST, action="hang", seconds=120, count=-1)
    err, took = timed(os.listdir, mnt.acct)
    assert err == errno.ETIMEDOUT
    assert took < 3 * 2 + 1.5 + 3
    emulator.clear_faults()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_emulator_killed_and_restarted_under_a_live_mount():
    port = free_port()
    emu = Emulator("--port", str(port))
    try:
        with Mount(emu, "cache_ttl=1", "timeout=2", accounts=[ACCOUNT_1]) as m:
            assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
            emu.proc.kill()
            emu.proc.wait()
            time.sleep(1.5)
            err, took = timed(os.listdir, m.path(ACCOUNT_1))
            assert err == errno.EIO and took < 10
            emu = Emulator("--port", str(port))
            assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
    finally:
        if emu.proc.poll() is None:
            emu.stop()


HOSTILE = {
    "malformed json": {"action": "malformed"},
    "huge body": {"action": "huge", "bytes": 50 << 20},
    "result is a string": {"action": "body", "body": json.dumps(
        {"success": True, "errors": [], "messages": [], "result": "nope"})},
    "sync with wrong types": {"action": "body", "body": json.dumps(
        {"success": True, "errors": [], "messages": [], "result": [
            {"id": 7, "name": ["x"], "destination_type": None, "update_mode": 1}]})},
    "sync missing fields": {"action": "body", "body": json.dumps(
        {"success": True, "errors": [], "messages": [], "result": [{"name": "x"}]})},
}


def hostile_sync(**over):
    s = {"id": "8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f", "name": "x", "description": "",
         "policy": "", "destination_type": "NONE",
         "destination_id": "11111111-2222-4333-8444-555555555555",
         "update_mode": "AUTO", "last_user_update_at": "2026-11-29T08:00:00Z", "errors": {}}
    s.update(over)
    return s


HOSTILE["duplicate ids"] = {"action": "body", "body": json.dumps(
    {"success": True, "errors": [], "messages": [], "result": [hostile_sync(), hostile_sync()]})}
HOSTILE["id with slash"] = {"action": "body", "body": json.dumps(
    {"success": True, "errors": [], "messages": [], "result": [hostile_sync(id="../../x")]})}
HOSTILE["id with dotdot"] = {"action": "body", "body": json.dumps(
    {"success": True, "errors": [], "messages": [], "result": [hostile_sync(id="..")]})}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_listing_is_eio_and_a_log_line(emulator, mnt, case):
    expire(mnt, emulator)
    emulator.fault("GET", LIST, count=-1, **HOSTILE[case])
    assert errno_of(os.listdir, mnt.acct) == errno.EIO
    emulator.clear_faults()
    assert "prod-vpcs" in os.listdir(mnt.acct)      # alive, and recovered
    log = mnt.log()
    assert "malformed answer" in log or "larger than" in log


def test_odd_but_valid_answers_are_shown(emulator, mnt):
    odd = [hostile_sync(name="\u0001bell\u0007", errors=[1, "two", {"three": None}]),
           hostile_sync(id="11111111-2222-4333-8444-555555555556", name="ok", errors="x",
                        description=None, unknown_member={"nested": [1]})]
    expire(mnt, emulator)
    emulator.fault("GET", LIST, count=-1, action="body", body=json.dumps(
        {"success": True, "errors": [], "messages": [], "result": odd}))
    folders = sorted(os.listdir(mnt.acct))
    assert "%01bell%07" in folders and "ok" in folders
    status = json.loads(read(os.path.join(mnt.acct, "%01bell%07", "status.json")))
    assert status["errors"] == [1, "two", {"three": None}]
    ok = json.loads(read(os.path.join(mnt.acct, "ok", "status.json")))
    assert ok["unknown_member"] == {"nested": [1]} and ok["description"] == ""
    emulator.clear_faults()


def write_in_flight(m, text):
    """Starts a write whose PATCH hangs 2 s; returns (thread, result)."""
    path = m.path(ACCOUNT_1, "prod-vpcs", "description")
    m.emu.fault("PATCH", ".*", action="hang", seconds=2, count=1)
    result = {}

    def writer():
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, text.encode() + b"\n")
        result["errno"] = errno_of(os.close, fd)

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.7)
    return t, result


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_with_a_write_in_flight_completes_it(emulator, sig):
    m = Mount(emulator, "cache_ttl=60", accounts=[ACCOUNT_1])
    try:
        t, result = write_in_flight(m, "written during shutdown")
        m.proc.send_signal(sig)
        t.join(20)
        assert result.get("errno") == 0
        assert emulator.sync("prod-vpcs")["description"] == "written during shutdown"
        assert m.proc.wait(timeout=20) == 0
        time.sleep(0.2)
        assert not is_mounted(m.dir)
    finally:
        m.cleanup()


def test_fusermount_with_a_write_in_flight(emulator):
    m = Mount(emulator, "cache_ttl=60", accounts=[ACCOUNT_1])
    try:
        t, result = write_in_flight(m, "written during unmount")
        busy = subprocess.run(["fusermount3", "-u", m.dir], capture_output=True, text=True)
        t.join(20)
        assert result.get("errno") == 0
        assert emulator.sync("prod-vpcs")["description"] == "written during unmount"
        if busy.returncode != 0:        # busy while the file was open: again
            assert "busy" in busy.stderr.lower()
            subprocess.run(["fusermount3", "-u", m.dir], check=True)
        assert m.proc.wait(timeout=20) == 0
    finally:
        m.cleanup()


def test_mount_over_a_stale_mount_names_the_fix(emulator):
    m = Mount(emulator, accounts=[ACCOUNT_1])
    try:
        m.proc.kill()
        m.proc.wait()
        env = dict(os.environ, CLOUDFLARE_API_TOKEN=emulator.token)
        r = subprocess.run([daemon_binary(), "-o", f"api_url={emulator.base_url},"
                            f"account={ACCOUNT_1}", m.dir], capture_output=True,
                           text=True, env=env, timeout=30)
        assert r.returncode != 0
        assert f"fusermount3 -u {m.dir}" in r.stderr
    finally:
        m.cleanup()
