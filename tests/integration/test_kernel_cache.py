"""SPEC "Freshness and cost" with the kernel's caches warm: the kernel may
keep entries, attributes, pages and folder contents for as long as the
listing they came from is trusted, and never longer, so each rule is
checked after a warm-up (ls -l, stat, each file read twice by cat, and
stats of names that do not exist yet).  Remote changes are made on the
emulator's API, as a dashboard would, never through the mount.

    a) a remote change, longer then shorter, shows within cache_ttl with
       its exact size and content;
    b) a write through the mount shows at once to a new reader, in the
       file written and in the files that render the same field;
    c) a remote create and a remote delete show in ls and stat within
       cache_ttl;
    d) kill -USR1 shows a remote change at once;
    e) mv of a sync folder shows at once under both names.

A read through FUSE marks the file's atime stale, so the next stat of it
asks the daemon whatever the kernel kept: a size the kernel keeps too
long shows only to a stat that comes before any read.  So the waits stat
alone, and b) and e) run twice, reading first and stating first.
"""

import errno
import json
import os
import stat
import subprocess
import time

import pytest

from emulator import ACCOUNT_1, syncs_path
from mount import Mount, errno_of, write_close

SYNC = "prod-vpcs"
SYNC_FILES = sorted(["name", "description", "policy", "update_mode", "id",
                     "destination_type", "destination_id", "config.json",
                     "status.json", "last_error", "refresh"])
# a small cache_ttl for the rules that wait for it, and how long past it a
# change may take to show (a listing fetched just before the change is
# trusted for cache_ttl from then; polling and the kernel add a little)
TTL = 2
SLACK = 3
LONGER = {"description": " and a much longer description than before" * 20,
          "policy": "\n# a much longer policy than before" * 40}
SHORTER = {"description": "x", "policy": "package short"}


def read(path):
    """The file's bytes through a fresh open by this process."""
    with open(path, "rb") as f:
        return f.read()


def cat(*paths):
    """The files' bytes as a new process reads them."""
    out = subprocess.run(["cat", *paths], capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def size(path):
    return os.stat(path).st_size


def line(value):
    """What a field file reads as: its value and one newline."""
    return (value + "\n").encode()


def warm(*folders, absent=()):
    """Fills the kernel's caches as a user's shell would: a listing of each
    folder, each of its files read twice by cat (two processes, so that
    kept pages would be used), then ls -l and a stat of the folder and of
    everything in it, so that the kernel holds every attribute whole (a
    read marks a file's atime stale, and the next stat would ask the
    daemon); then a stat of each path of `absent`, which must not exist
    (a negative entry the kernel may keep)."""
    for folder in folders:
        paths = [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
        files = [p for p in paths if stat.S_ISREG(os.stat(p).st_mode)]
        if files:
            first = cat(*files)
            assert cat(*files) == first
        out = subprocess.run(["ls", "-l", folder], capture_output=True)
        assert out.returncode == 0, out.stderr
        assert stat.S_ISDIR(os.stat(folder).st_mode), folder
        for path in paths:
            os.stat(path)
    for path in absent:
        assert errno_of(os.stat, path) == errno.ENOENT, path


def stat_then_read(path):
    """(st_size, bytes a new process reads), the stat first: a read makes
    the next stat ask the daemon, so this order checks the size that the
    kernel keeps."""
    st = size(path)
    return st, cat(path)


def observe(paths, stat_first):
    """{path: (st_size, bytes a new process reads)}: with stat_first every
    stat comes before any read, and checks the sizes that the kernel kept;
    else each file is read and then stat'ed, as by a reader that opens,
    reads and then stats (which gets the daemon's answer whatever the
    kernel kept)."""
    if stat_first:
        sizes = {p: size(p) for p in paths}
        return {p: (sizes[p], cat(p)) for p in paths}
    seen = {}
    for p in paths:
        got = cat(p)
        seen[p] = (size(p), got)
    return seen


# a test's two orders of stat and read (observe())
ORDERS = pytest.mark.parametrize("stat_first", [False, True],
                                 ids=["cat-then-stat", "stat-then-cat"])


def api(emu, method, path, body=None, expect=200):
    """A call to the emulator's API, as a change made elsewhere."""
    status, _, answer = emu.request(method, path, body)
    assert status == expect, answer
    return answer


def wait_for(check, within, what):
    """Polls check() (which returns (done, what it saw)) every 0.1 s until
    done, and returns what it saw then; fails naming what it saw last when
    `within` seconds pass."""
    started = time.monotonic()
    while True:
        done, saw = check()
        if done:
            return saw
        assert time.monotonic() - started < within, \
            f"{what} not seen within {within} s; last saw {saw!r}"
        time.sleep(0.1)


@pytest.mark.parametrize("field", ["description", "policy"])
def test_a_remote_change_longer_then_shorter_shows_within_ttl(emulator, field):
    """Growing a field and then shrinking it on the server: each shows
    within cache_ttl with the exact size in stat, and then at once with
    the exact bytes in a fresh read, in the field's file and in
    config.json.  The wait stats alone, as a read makes the next stat ask
    the daemon and would hide a size the kernel kept too long."""
    with Mount(emulator, f"cache_ttl={TTL}", accounts=[ACCOUNT_1]) as m:
        sync = emulator.sync(SYNC)
        folder = m.path(ACCOUNT_1, SYNC)
        path = os.path.join(folder, field)
        config = os.path.join(folder, "config.json")
        old = sync[field]
        for new in (old + LONGER[field], SHORTER[field]):
            assert stat_then_read(path) == (len(line(old)), line(old))
            warm(m.path(ACCOUNT_1), folder)
            old_config = size(config)
            api(emulator, "PATCH", syncs_path(ACCOUNT_1, sync["id"]), {field: new})
            want = line(new)

            def resized():
                sizes = size(path), size(config)
                assert sizes[0] in (len(line(old)), len(want)), sizes
                return sizes[0] == len(want) and sizes[1] != old_config, sizes

            _, config_size = wait_for(resized, TTL + SLACK, f"the {len(want)}-byte {field}")
            # both sizes came from one listing: the bytes match them now
            assert read(path) == want
            assert cat(path) == want
            rendered = cat(config)
            assert json.loads(rendered)[field] == new
            assert config_size == len(rendered)
            old = new


@ORDERS
def test_a_write_through_the_mount_shows_at_once_to_new_readers(emulator, stat_first):
    """With the listing trusted for an hour, a write through the mount
    (longer, then shorter) shows at once, with no wait, to stat and to a
    new process, in the file written and in config.json and status.json,
    which render the same field; and a write of config.json shows at once
    in the description file."""
    with Mount(emulator, "cache_ttl=3600", accounts=[ACCOUNT_1]) as m:
        sync = emulator.sync(SYNC)
        folder = m.path(ACCOUNT_1, SYNC)
        path = os.path.join(folder, "description")
        config = os.path.join(folder, "config.json")
        status = os.path.join(folder, "status.json")
        for new in (sync["description"] + LONGER["description"], SHORTER["description"]):
            warm(m.path(ACCOUNT_1), folder)
            assert write_close(path, line(new)) == 0
            # at once: no sleep, no polling
            seen = observe([path, config, status], stat_first)
            assert seen[path] == (len(line(new)), line(new))
            assert read(path) == line(new)
            for sibling in (config, status):
                st, rendered = seen[sibling]
                assert json.loads(rendered)["description"] == new, sibling
                assert st == len(rendered), sibling
            assert emulator.sync(SYNC)["description"] == new
        warm(folder)
        settings = json.loads(read(config))
        settings["description"] = "set through config.json" * 5
        size(config)                # the kernel holds its size whole again
        assert write_close(config, json.dumps(settings).encode()) == 0
        seen = observe([path, config], stat_first)
        assert seen[path] == (len(line(settings["description"])),
                              line(settings["description"]))
        st, rendered = seen[config]
        assert json.loads(rendered) == settings
        assert st == len(rendered)


def test_a_remote_create_and_delete_show_within_ttl(emulator):
    """A sync created on the server shows in the account's listing and in
    stat within cache_ttl, though its name was looked up in vain before;
    a sync deleted on the server, after its folder was read, is gone from
    both within cache_ttl."""
    with Mount(emulator, f"cache_ttl={TTL}", accounts=[ACCOUNT_1]) as m:
        acct = m.path(ACCOUNT_1)
        made = os.path.join(acct, "made-elsewhere")
        gone = m.path(ACCOUNT_1, SYNC)
        warm(acct, gone, absent=[made, os.path.join(made, "description")])
        api(emulator, "POST", syncs_path(ACCOUNT_1),
            {"name": "made-elsewhere", "description": "from the dashboard",
             "destination_type": "NONE", "update_mode": "MANUAL"}, expect=201)

        def created():
            code = errno_of(os.stat, made)
            listed = "made-elsewhere" in os.listdir(acct)
            done = listed and code == 0 and stat.S_ISDIR(os.stat(made).st_mode)
            return done, (listed, code)

        wait_for(created, TTL + SLACK, "the new sync")
        assert stat_then_read(os.path.join(made, "description")) == \
            (len(b"from the dashboard\n"), b"from the dashboard\n")
        assert sorted(os.listdir(made)) == SYNC_FILES

        warm(acct, gone, made)
        sync_id = emulator.sync(SYNC)["id"]
        api(emulator, "DELETE", syncs_path(ACCOUNT_1, sync_id))

        def deleted():
            codes = (errno_of(os.stat, gone), errno_of(os.stat, os.path.join(gone, "policy")))
            listed = SYNC in os.listdir(acct)
            return not listed and codes == (errno.ENOENT, errno.ENOENT), (listed, codes)

        wait_for(deleted, TTL + SLACK, "the deletion")
        assert "made-elsewhere" in os.listdir(acct)


def test_usr1_shows_a_remote_change_at_once(emulator):
    """With the listing trusted for an hour, remote changes (a field
    longer and a new sync; then the field shorter and the sync deleted)
    do not show until kill -USR1, and then show at once."""
    with Mount(emulator, "cache_ttl=3600", accounts=[ACCOUNT_1]) as m:
        sync = emulator.sync(SYNC)
        acct = m.path(ACCOUNT_1)
        folder = m.path(ACCOUNT_1, SYNC)
        path = os.path.join(folder, "description")
        made = os.path.join(acct, "made-elsewhere")
        old = sync["description"]
        for new, there in ((old + LONGER["description"], True),
                           (SHORTER["description"], False)):
            warm(acct, folder, *([] if there else [made]), absent=[made] if there else [])
            api(emulator, "PATCH", syncs_path(ACCOUNT_1, sync["id"]), {"description": new})
            if there:
                api(emulator, "POST", syncs_path(ACCOUNT_1),
                    {"name": "made-elsewhere", "destination_type": "NONE",
                     "update_mode": "MANUAL"}, expect=201)
            else:
                made_id = emulator.sync("made-elsewhere")["id"]
                api(emulator, "DELETE", syncs_path(ACCOUNT_1, made_id))
            # still trusted: without the signal nothing shows (and the
            # last stat leaves the kernel holding the old size whole)
            assert stat_then_read(path) == (len(line(old)), line(old))
            assert size(path) == len(line(old))
            assert ("made-elsewhere" in os.listdir(acct)) is not there
            assert errno_of(os.stat, made) == (errno.ENOENT if there else 0)
            subprocess.run(["kill", "-USR1", str(m.proc.pid)], check=True)
            want = line(new)

            def shows():
                st = size(path)
                code = errno_of(os.stat, made)
                listed = "made-elsewhere" in os.listdir(acct)
                done = (st == len(want) and listed is there
                        and code == (0 if there else errno.ENOENT))
                return done, (st, listed, code)

            # The daemon forgets its listings at once, and the kernel's
            # caches are dropped by a thread of its own within
            # milliseconds: a second is plenty.
            wait_for(shows, 1.0, "the change after SIGUSR1")
            assert read(path) == want
            assert cat(path) == want
            old = new


@ORDERS
def test_a_rename_shows_at_once_under_both_names(emulator, stat_first):
    """With the listing trusted for an hour and both names looked up (the
    new one in vain), mv of a sync folder shows at once: the old name is
    gone from stat and the listing, the new one is a folder with the same
    files, whose name file and config.json have the new name."""
    with Mount(emulator, "cache_ttl=3600", accounts=[ACCOUNT_1]) as m:
        acct = m.path(ACCOUNT_1)
        old = m.path(ACCOUNT_1, SYNC)
        new = m.path(ACCOUNT_1, "renamed-vpcs")
        before = {f: read(os.path.join(old, f)) for f in ("id", "policy", "description")}
        warm(acct, old, absent=[new, os.path.join(new, "policy")])
        out = subprocess.run(["mv", old, new], capture_output=True)
        assert out.returncode == 0, out.stderr
        # at once: no sleep, no polling; the files before any listing of
        # the new folder (a listing refreshes the sizes the kernel keeps)
        assert errno_of(os.stat, old) == errno.ENOENT
        assert errno_of(os.stat, os.path.join(old, "policy")) == errno.ENOENT
        assert stat.S_ISDIR(os.stat(new).st_mode)
        seen = observe([os.path.join(new, f) for f in ("name", "config.json", *before)],
                       stat_first)
        listed = os.listdir(acct)
        assert "renamed-vpcs" in listed and SYNC not in listed
        ls = subprocess.run(["ls", acct], capture_output=True, text=True).stdout.split()
        assert "renamed-vpcs" in ls and SYNC not in ls
        assert sorted(os.listdir(new)) == SYNC_FILES
        assert seen[os.path.join(new, "name")] == (len(b"renamed-vpcs\n"), b"renamed-vpcs\n")
        st, rendered = seen[os.path.join(new, "config.json")]
        assert json.loads(rendered)["name"] == "renamed-vpcs"
        assert st == len(rendered)
        for f, content in before.items():
            assert seen[os.path.join(new, f)] == (len(content), content), f
        assert emulator.sync("renamed-vpcs")["id"] == before["id"].decode().strip()


def test_a_field_moved_away_stays_for_the_file_open_on_it(emulator):
    """mv of a field within its sync folder copies it out (an editor's
    backup) and the field stays: a file open on the field still stats as
    the field, not as the copy."""
    with Mount(emulator, "cache_ttl=3600", accounts=[ACCOUNT_1]) as m:
        sync = m.path(ACCOUNT_1, "prod-vpcs")
        field = os.path.join(sync, "description")
        fd = os.open(field, os.O_RDONLY)
        try:
            before = os.fstat(fd)
            os.rename(field, os.path.join(sync, "description.orig"))
            after = os.fstat(fd)
            assert after.st_ino == before.st_ino
            assert after.st_ino == os.stat(field).st_ino
            assert os.stat(os.path.join(sync, "description.orig")).st_ino != before.st_ino
        finally:
            os.close(fd)
