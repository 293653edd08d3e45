"""SPEC "Journal": every change the API accepted is one whole JSON line in
the journal, with the changed fields before and after; nothing else is.
Each test checks the line against the emulator's state before and after."""

import datetime
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from emulator import ACCOUNT_1
from mount import Mount, run_mount_command, unmount_all, write_close

WHOLE = ("name", "description", "policy", "update_mode", "destination_type",
         "destination_id")


@pytest.fixture
def tmp(request):
    d = tempfile.mkdtemp(prefix="catsyncfs-journal-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def jmnt(emulator, tmp):
    path = os.path.join(tmp, "state", "journal.jsonl")
    with Mount(emulator, "cache_ttl=60", f"journal={path}",
               accounts=[ACCOUNT_1]) as m:
        m.journal = path
        m.acct = m.path(ACCOUNT_1)
        yield m


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    assert data == b"" or data.endswith(b"\n"), "a torn last line"
    return [json.loads(line) for line in data.decode().splitlines()]


def check_header(line, sync, op):
    assert line["op"] == op
    assert line["account"] == ACCOUNT_1
    assert line["sync_id"] == sync["id"]
    assert line["name"] == sync["name"]
    t = datetime.datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    assert t.tzinfo is not None
    assert abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 60


def test_edit_writes_one_line_with_the_field_before_and_after(emulator, jmnt):
    before = emulator.sync("prod-vpcs")
    assert write_close(f"{jmnt.acct}/prod-vpcs/policy", b"package new\n") == 0
    after = emulator.sync("prod-vpcs")
    (line,) = lines(jmnt.journal)
    check_header(line, before, "edit")
    assert line["before"] == {"policy": before["policy"]}
    assert line["after"] == {"policy": after["policy"]} == {"policy": "package new"}


def test_edit_of_the_name_file(emulator, jmnt):
    before = emulator.sync("eu-subnets")
    assert write_close(f"{jmnt.acct}/eu-subnets/name", b"eu-private\n") == 0
    (line,) = lines(jmnt.journal)
    check_header(line, before, "edit")
    assert line["before"] == {"name": "eu-subnets"}
    assert line["after"] == {"name": emulator.sync("eu-private")["name"]}


def test_update_of_config_json_names_only_what_changed(emulator, jmnt):
    before = emulator.sync("prod-vpcs")
    path = f"{jmnt.acct}/prod-vpcs/config.json"
    config = json.load(open(path))
    config["description"] = "via config.json"
    config["update_mode"] = "MANUAL"
    assert write_close(path, json.dumps(config).encode()) == 0
    after = emulator.sync("prod-vpcs")
    (line,) = lines(jmnt.journal)
    check_header(line, before, "update")
    assert line["before"] == {k: before[k] for k in ("description", "update_mode")}
    assert line["after"] == {k: after[k] for k in ("description", "update_mode")}
    assert line["after"] == {"description": "via config.json", "update_mode": "MANUAL"}


def test_create_writes_the_whole_new_sync(emulator, jmnt):
    os.mkdir(f"{jmnt.acct}/lab-vnets")
    made = emulator.sync("lab-vnets")
    (line,) = lines(jmnt.journal)
    check_header(line, made, "create")
    assert line["before"] == {}
    assert line["after"] == {k: made[k] for k in WHOLE}


def test_delete_writes_the_whole_sync_before(emulator, jmnt):
    before = emulator.sync("azure-vnets")
    os.rmdir(f"{jmnt.acct}/azure-vnets")
    with pytest.raises(KeyError):
        emulator.sync("azure-vnets")
    (line,) = lines(jmnt.journal)
    check_header(line, before, "delete")
    assert line["before"] == {k: before[k] for k in WHOLE}
    assert line["after"] == {}


def test_rename_writes_the_name_before_and_after(emulator, jmnt):
    before = emulator.sync("gcp-networks")
    os.rename(f"{jmnt.acct}/gcp-networks", f"{jmnt.acct}/gcp-vpcs")
    (line,) = lines(jmnt.journal)
    check_header(line, before, "rename")
    assert line["before"] == {"name": "gcp-networks"}
    assert line["after"] == {"name": emulator.sync("gcp-vpcs")["name"]}


def test_refresh_writes_its_result(emulator, jmnt):
    before = emulator.sync("prod-vpcs")
    assert write_close(f"{jmnt.acct}/prod-vpcs/refresh", b"1\n") == 0
    (line,) = lines(jmnt.journal)
    check_header(line, before, "refresh")
    assert line["before"] == {}
    result = open(f"{jmnt.acct}/prod-vpcs/refresh").read()
    assert result and line["after"] == {"refresh": result.rstrip("\n")}


def test_refused_and_unchanged_saves_write_nothing(emulator, jmnt):
    sync_dir = f"{jmnt.acct}/prod-vpcs"
    policy = emulator.sync("prod-vpcs")["policy"]
    # refused here (EINVAL), by the API (422, EINVAL), and as a lost update
    assert write_close(f"{sync_dir}/update_mode", b"BOGUS\n") == errno.EINVAL
    assert write_close(f"{sync_dir}/policy", b"broken {\n") == errno.EINVAL
    open(f"{sync_dir}/policy").read()
    emulator.set_sync(ACCOUNT_1, emulator.sync("prod-vpcs")["id"],
                      policy="changed in the dashboard")
    assert write_close(f"{sync_dir}/policy", b"my edit\n") == errno.ESTALE
    # a rename onto a taken name, a failed delete
    with pytest.raises(OSError) as e:
        os.rename(f"{jmnt.acct}/eu-subnets", f"{jmnt.acct}/bad%41")
    assert e.value.errno == errno.EINVAL
    emulator.fault("DELETE", ".*", status=500, count=10)
    with pytest.raises(OSError):
        os.rmdir(f"{jmnt.acct}/eu-subnets")
    emulator.clear_faults()
    # the server already holds it: nothing sent, nothing journaled
    same = emulator.sync("azure-vnets")["description"]
    assert write_close(f"{jmnt.acct}/azure-vnets/description",
                       (same + "\n").encode()) == 0
    assert lines(jmnt.journal) == []
    assert policy != "changed in the dashboard"


def test_one_line_per_change_in_order(emulator, jmnt):
    write_close(f"{jmnt.acct}/prod-vpcs/description", b"one\n")
    write_close(f"{jmnt.acct}/prod-vpcs/description", b"two\n")
    os.mkdir(f"{jmnt.acct}/x")
    os.rmdir(f"{jmnt.acct}/x")
    got = [(l["op"], l["before"].get("description"), l["after"].get("description"))
           for l in lines(jmnt.journal)]
    assert got[:2] == [("edit", "Production VPCs for the Zero Trust allow list", "one"),
                       ("edit", "one", "two")]
    assert [op for op, _, _ in got[2:]] == ["create", "delete"]


def test_file_and_folder_are_private_and_hold_no_token(emulator, jmnt):
    write_close(f"{jmnt.acct}/prod-vpcs/policy", b"p\n")
    assert stat.S_IMODE(os.stat(jmnt.journal).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(jmnt.journal)).st_mode) == 0o700
    data = open(jmnt.journal, "rb").read()
    assert data and emulator.token.encode() not in data
    assert b"Bearer" not in data


def test_default_path_is_under_xdg_state_home(emulator, tmp):
    with Mount(emulator, env={"XDG_STATE_HOME": tmp}, accounts=[ACCOUNT_1]) as m:
        write_close(m.path(ACCOUNT_1, "prod-vpcs", "description"), b"d\n")
    (line,) = lines(os.path.join(tmp, "catsyncfs", "journal.jsonl"))
    assert line["after"] == {"description": "d"}
    assert stat.S_IMODE(os.stat(os.path.join(tmp, "catsyncfs")).st_mode) == 0o700


def test_nojournal_writes_nothing(emulator, tmp):
    with Mount(emulator, "nojournal", env={"XDG_STATE_HOME": tmp},
               accounts=[ACCOUNT_1]) as m:
        assert write_close(m.path(ACCOUNT_1, "prod-vpcs", "description"), b"d\n") == 0
    assert os.listdir(tmp) == []


@pytest.mark.parametrize("where", ["file/journal.jsonl", "dir", "/dev/null"])
def test_a_journal_that_cannot_be_written_fails_the_mount(emulator, tmp, where):
    open(os.path.join(tmp, "file"), "w").close()
    os.mkdir(os.path.join(tmp, "dir"))
    path = os.path.join(tmp, where)
    code, out, _ = run_mount_command(emulator, f"journal={path}",
                                     f"account={ACCOUNT_1}", token=emulator.token)
    assert code != 0
    assert f"cannot use journal '{path}'" in out, out


@pytest.fixture
def small_fs(tmp):
    """A 256 KiB tmpfs, unmounted after the test."""
    d = os.path.join(tmp, "small")
    os.mkdir(d)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700",
                        "tmpfs", d], capture_output=True)
    if r.returncode:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.decode())
    yield d
    subprocess.run(["umount", "-l", d])


def fill(folder):
    """Fills the file system up to its last byte."""
    fd = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)


def test_a_full_disk_at_start_fails_the_mount(emulator, small_fs):
    fill(small_fs)
    code, out, _ = run_mount_command(emulator, f"journal={small_fs}/j.jsonl",
                                     f"account={ACCOUNT_1}", token=emulator.token)
    assert code != 0
    assert "cannot use journal" in out and "No space left" in out, out


def test_a_journal_failing_later_still_sends_and_says_so(emulator, small_fs):
    path = f"{small_fs}/j.jsonl"
    with Mount(emulator, "cache_ttl=60", f"journal={path}",
               accounts=[ACCOUNT_1]) as m:
        sync_dir = m.path(ACCOUNT_1, "prod-vpcs")
        write_close(f"{sync_dir}/description", b"journaled\n")
        fill(small_fs)
        big = b"x" * 200_000 + b"\n"
        assert write_close(f"{sync_dir}/policy", big) == 0
        assert emulator.sync("prod-vpcs")["policy"] == big[:-1].decode()
        err = open(f"{sync_dir}/last_error").read()
        assert "not journaled" in err and path in err and "No space left" in err
        assert "not journaled" in m.log()
        os.unlink(f"{small_fs}/filler")
        # once there is room again the next change is journaled
        assert write_close(f"{sync_dir}/description", b"again\n") == 0
        assert open(f"{sync_dir}/last_error").read() == ""
    got = lines(path)
    assert [l["after"] for l in got] == [{"description": "journaled"},
                                         {"description": "again"}]


def test_kill_9_during_a_burst_of_saves_leaves_only_whole_lines(emulator, tmp):
    path = os.path.join(tmp, "journal.jsonl")
    m = Mount(emulator, "cache_ttl=60", f"journal={path}", accounts=[ACCOUNT_1])
    names = ["prod-vpcs", "eu-subnets", "azure-vnets", "gcp-networks"]
    stop = threading.Event()

    def saver(name):
        i = 0
        while not stop.is_set():
            try:
                write_close(m.path(ACCOUNT_1, name, "policy"),
                            f"package p{i}\n".encode() + b"#" * 50_000 + b"\n")
            except OSError:
                return
            i += 1

    threads = [threading.Thread(target=saver, args=(n,)) for n in names]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(lines(path)) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        m.proc.send_signal(signal.SIGKILL)
        m.proc.wait()
        stop.set()
        unmount_all(m.dir)
        for t in threads:
            t.join(10)
    finally:
        stop.set()
        m.cleanup()
        os.unlink(m.log_file.name)
    got = lines(path)  # asserts the last byte is a newline
    assert len(got) >= 8
    assert all(l["op"] == "edit" and set(l["after"]) == {"policy"} for l in got)
    # every journaled save reached the server in that order, per sync
    for name in names:
        mine = [l for l in got if l["name"] == name]
        for a, b in zip(mine, mine[1:]):
            assert a["after"] == b["before"]


def test_a_torn_last_line_is_cut_off_at_start(emulator, tmp):
    path = os.path.join(tmp, "journal.jsonl")
    first = {"time": "2026-12-04T00:00:00.000Z", "op": "edit"}
    whole = json.dumps(first, separators=(",", ":")) + "\n"
    with open(path, "w") as f:
        f.write(whole + '{"time":"2026-')
    os.chmod(path, 0o600)   # a journal must be private, as it makes them
    with Mount(emulator, f"journal={path}", accounts=[ACCOUNT_1]) as m:
        write_close(m.path(ACCOUNT_1, "prod-vpcs", "description"), b"d\n")
        assert "cut off a torn last line" in m.log()
    got = lines(path)
    assert got[0] == first and got[1]["after"] == {"description": "d"}
    assert len(got) == 2
