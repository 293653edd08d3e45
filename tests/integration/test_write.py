"""The write side of SPEC "Files" and "Folders": each tool's save must end
in exactly one API write with the right body, or a clear error and no
change at all.  Every test checks the emulator's state and its log."""

import errno
import json
import os
import shutil
import subprocess
import time

import pytest

from emulator import ACCOUNT_1, ACCOUNT_2
from mount import Mount, write_close

FIELD_FILES = sorted(["name", "description", "policy", "update_mode", "id",
                      "destination_type", "destination_id", "config.json",
                      "status.json", "last_error", "refresh"])


def writes(emu):
    """The logged requests that change something (everything but GET)."""
    return [e for e in emu.log() if e["method"] != "GET"]


def bodies(emu):
    return [(e["method"], json.loads(e["body"]) if e["body"] else None)
            for e in writes(emu)]


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def mnt(emulator):
    with Mount(emulator, "cache_ttl=60", accounts=[ACCOUNT_1, ACCOUNT_2]) as m:
        m.sync_dir = m.path(ACCOUNT_1, "prod-vpcs")
        m.sync = emulator.sync("prod-vpcs")
        emulator.clear_log()
        yield m


def sh(cmd, **kw):
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, **kw)


def test_echo_sends_one_patch(emulator, mnt):
    assert sh(f"echo x > {mnt.sync_dir}/description").returncode == 0
    assert bodies(emulator) == [("PATCH", {"description": "x"})]
    assert emulator.sync("prod-vpcs")["description"] == "x"
    assert read(f"{mnt.sync_dir}/description") == b"x\n"


def test_printf_without_newline_is_sent_as_is(emulator, mnt):
    sh(f"printf 'no newline' > {mnt.sync_dir}/policy")
    assert bodies(emulator) == [("PATCH", {"policy": "no newline"})]


def test_echo_empty_line_empties_a_field(emulator, mnt):
    sh(f"echo > {mnt.sync_dir}/description")
    assert bodies(emulator) == [("PATCH", {"description": ""})]
    assert read(f"{mnt.sync_dir}/description") == b"\n"


def test_append(emulator, mnt):
    before = mnt.sync["description"]
    sh(f"echo more >> {mnt.sync_dir}/description")
    assert bodies(emulator) == [("PATCH", {"description": before + "\nmore"})]


def test_dd_notrunc_overwrites_in_place(emulator, mnt):
    before = mnt.sync["policy"]
    r = sh(f"printf 'XY' | dd of={mnt.sync_dir}/policy conv=notrunc status=none")
    assert r.returncode == 0, r.stderr
    assert bodies(emulator) == [("PATCH", {"policy": "XY" + before[2:]})]


def test_tee(emulator, mnt):
    sh(f"echo teed | tee {mnt.sync_dir}/description >/dev/null")
    assert bodies(emulator) == [("PATCH", {"description": "teed"})]


def test_cp_and_cp_p(emulator, mnt, tmp_path):
    src = tmp_path / "p"
    src.write_text("copied\npolicy\n")
    assert sh(f"cp {src} {mnt.sync_dir}/policy").returncode == 0
    assert bodies(emulator) == [("PATCH", {"policy": "copied\npolicy"})]
    emulator.clear_log()
    src.write_text("copied with -p\n")
    r = sh(f"cp -p {src} {mnt.sync_dir}/policy")
    assert r.returncode == 0, r.stderr
    assert bodies(emulator) == [("PATCH", {"policy": "copied with -p"})]


def test_unchanged_content_sends_nothing(emulator, mnt):
    data = read(f"{mnt.sync_dir}/policy")
    assert write_close(f"{mnt.sync_dir}/policy", data) == 0
    assert writes(emulator) == []


def assert_one_clean_patch(emulator, mnt, field, value):
    """Exactly one write, to `field`, and no scratch name ever sent."""
    sent = writes(emulator)
    assert [(e["method"], json.loads(e["body"])) for e in sent] == \
        [("PATCH", {field: value})]
    assert emulator.sync("prod-vpcs")[field] == value
    assert sorted(os.listdir(mnt.sync_dir)) == FIELD_FILES


def test_sed_in_place(emulator, mnt):
    before = mnt.sync["policy"]
    r = sh(f"sed -i 's/aws_vpc/aws_vpc_v2/' {mnt.sync_dir}/policy")
    assert r.returncode == 0, r.stderr
    # sed replaces the first match of each line
    expect = "\n".join(l.replace("aws_vpc", "aws_vpc_v2", 1) for l in before.split("\n"))
    assert_one_clean_patch(emulator, mnt, "policy", expect)


@pytest.mark.parametrize("setting", ["", "set backupcopy=yes", "set backupcopy=no"])
def test_vim_saves_once(emulator, mnt, setting):
    before = mnt.sync["description"]
    cmds = ["-c", setting] if setting else []
    r = subprocess.run(["vim", "-u", "NONE", "-N", "-i", "NONE", "-es", *cmds,
                        "-c", "s/$/ (edited in vim)/", "-c", "wq",
                        f"{mnt.sync_dir}/description"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_one_clean_patch(emulator, mnt, "description", before + " (edited in vim)")


def tmux(*args, check=True):
    return subprocess.run(["tmux", *args], check=check, capture_output=True, text=True)


def wait_until(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_vim_interactive_with_swap_file_saves_twice_without_warning(emulator, mnt):
    """vim in a terminal (tmux), swap file on, default settings; a second
    :w in the same session must not warn that the file changed."""
    before = mnt.sync["description"]
    session = f"catsyncfs-vim-{os.getpid()}"
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30",
         f"vim -u NONE -N -i NONE {mnt.sync_dir}/description")
    try:
        wait_until(lambda: ".description.swp" in os.listdir(mnt.sync_dir),
                   "vim made no swap file")
        tmux("send-keys", "-t", session, "A", " (tmux)", "Escape", ":w", "Enter")
        wait_until(lambda: len(writes(emulator)) == 1, "first :w sent nothing")
        tmux("send-keys", "-t", session, "A", " again", "Escape", ":w", "Enter")
        wait_until(lambda: len(writes(emulator)) == 2, "second :w sent nothing")
        time.sleep(0.3)
        screen = tmux("capture-pane", "-p", "-t", session).stdout
        assert "changed" not in screen.lower(), screen
        tmux("send-keys", "-t", session, ":q", "Enter")
        wait_until(lambda: tmux("has-session", "-t", session, check=False).returncode != 0,
                   "vim did not exit")
    finally:
        tmux("kill-session", "-t", session, check=False)
    assert [json.loads(e["body"]) for e in writes(emulator)] == \
        [{"description": before + " (tmux)"}, {"description": before + " (tmux) again"}]
    assert sorted(os.listdir(mnt.sync_dir)) == FIELD_FILES


def test_nano_through_tmux(emulator, mnt):
    before = mnt.sync["description"]
    session = f"catsyncfs-nano-{os.getpid()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30",
                    f"nano --ignorercfiles {mnt.sync_dir}/description"], check=True)
    try:
        time.sleep(1)
        subprocess.run(["tmux", "send-keys", "-t", session, "End", " (nano)"], check=True)
        time.sleep(0.3)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-o"], check=True)
        time.sleep(0.3)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        time.sleep(0.5)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-x"], check=True)
        deadline = time.monotonic() + 10
        while subprocess.run(["tmux", "has-session", "-t", session],
                             capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "nano did not exit"
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert_one_clean_patch(emulator, mnt, "description", before + " (nano)")


@pytest.mark.parametrize("backups", ["default", "forced"])
def test_emacs_batch(emulator, mnt, backups):
    """Emacs locks with a symlink (refused: it falls back to a lock file)
    and, when it makes a backup, renames the field away first."""
    before = mnt.sync["description"]
    force = ("(setq backup-inhibited nil backup-enable-predicate (lambda (_) t))"
             if backups == "forced" else "")
    r = subprocess.run(["emacs", "--batch", "-Q", f"{mnt.sync_dir}/description", "--eval",
                        f'(progn {force} (goto-char (point-min)) (end-of-line) '
                        '(insert " (emacs)") (save-buffer))'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    sent = writes(emulator)
    assert [(e["method"], json.loads(e["body"])) for e in sent] == \
        [("PATCH", {"description": before + " (emacs)"})]
    if backups == "default":
        assert sorted(os.listdir(mnt.sync_dir)) == FIELD_FILES
    else:
        # emacs keeps its backup: a scratch copy of the old content
        assert sorted(os.listdir(mnt.sync_dir)) == sorted(FIELD_FILES + ["description~"])
        assert read(f"{mnt.sync_dir}/description~") == (before + "\n").encode()


def test_ed(emulator, mnt):
    before = mnt.sync["description"]
    r = subprocess.run(["ed", "-s", f"{mnt.sync_dir}/description"],
                       input="1s/$/ (ed)/\nw\nq\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert_one_clean_patch(emulator, mnt, "description", before + " (ed)")


def test_python_atomic_rename_save(emulator, mnt):
    tmp = os.path.join(mnt.sync_dir, ".policy.tmp-1234")
    with open(tmp, "w") as f:
        f.write("atomic\n")
    assert writes(emulator) == []
    os.rename(tmp, os.path.join(mnt.sync_dir, "policy"))
    assert_one_clean_patch(emulator, mnt, "policy", "atomic")


def test_touch_chmod_chown_cost_nothing(emulator, mnt):
    path = f"{mnt.sync_dir}/policy"
    st = os.stat(path)
    assert sh(f"touch {path}").returncode == 0
    os.chmod(path, st.st_mode & 0o777)
    os.chown(path, st.st_uid, st.st_gid)
    os.utime(path, (1, 2))
    os.truncate(path, 0)
    assert emulator.log() == []
    assert read(path) == (mnt.sync["policy"] + "\n").encode()


def test_bogus_update_mode_is_einval_with_no_request(emulator, mnt):
    assert write_close(f"{mnt.sync_dir}/update_mode", b"BOGUS\n") == errno.EINVAL
    assert emulator.log() == []
    assert b"update_mode must be AUTO or MANUAL" in read(f"{mnt.sync_dir}/last_error")


def test_policy_that_does_not_compile_is_einval_with_cloudflare_message(emulator, mnt):
    assert write_close(f"{mnt.sync_dir}/policy", b"broken {\n") == errno.EINVAL
    assert emulator.sync("prod-vpcs")["policy"] == mnt.sync["policy"]
    err = read(f"{mnt.sync_dir}/last_error").decode()
    assert "422" in err and "compile" in err
    # a later success empties it
    assert write_close(f"{mnt.sync_dir}/policy", b"fixed {}\n") == 0
    assert read(f"{mnt.sync_dir}/last_error") == b""


def test_lost_update_is_refused_with_estale(emulator, mnt):
    path = f"{mnt.sync_dir}/policy"
    read(path)
    emulator.set_sync(ACCOUNT_1, mnt.sync["id"], policy="changed in the dashboard")
    assert write_close(path, b"my edit\n") == errno.ESTALE
    assert emulator.sync("prod-vpcs")["policy"] == "changed in the dashboard"
    assert [e["method"] for e in emulator.log()] == ["GET"]
    assert b"changed on the server" in read(f"{mnt.sync_dir}/last_error")


def test_config_json_is_one_put(emulator, mnt):
    path = f"{mnt.sync_dir}/config.json"
    config = json.loads(read(path))
    config["description"] = "via config.json"
    config["update_mode"] = "MANUAL"
    assert write_close(path, json.dumps(config).encode()) == 0
    assert bodies(emulator) == [("PUT", config)]
    assert json.loads(read(path)) == config


@pytest.mark.parametrize("content", [b"not json", b'{"name": "x"}',
                                     b'{"name":"x","description":"","policy":"",'
                                     b'"update_mode":"AUTO","extra":1}',
                                     b'{"name":1,"description":"","policy":"",'
                                     b'"update_mode":"AUTO"}'])
def test_bad_config_json_is_einval_and_sends_nothing(emulator, mnt, content):
    assert write_close(f"{mnt.sync_dir}/config.json", content) == errno.EINVAL
    assert emulator.log() == []
    assert read(f"{mnt.sync_dir}/last_error") != b""


def test_refresh_posts_and_reads_back(emulator, mnt):
    assert read(f"{mnt.sync_dir}/refresh") == b""
    assert sh(f"echo 1 > {mnt.sync_dir}/refresh").returncode == 0
    sent = writes(emulator)
    assert [(e["method"], e["path"]) for e in sent] == \
        [("POST", f"/accounts/{ACCOUNT_1}/magic/cloud/catalog-syncs/{mnt.sync['id']}/refresh")]
    assert sent[0]["body"] in (None, "")
    assert read(f"{mnt.sync_dir}/refresh") != b""
    status = json.loads(read(f"{mnt.sync_dir}/status.json"))
    assert status["last_attempted_update_at"] == \
        emulator.sync("prod-vpcs")["last_attempted_update_at"]


def test_read_only_files_refuse_writes(emulator, mnt):
    for name in ("id", "status.json", "destination_id", "last_error"):
        with pytest.raises(PermissionError):
            open(f"{mnt.sync_dir}/{name}", "w")
    pol = os.listdir(mnt.path(ACCOUNT_1, "policies"))[0]
    with pytest.raises(PermissionError):
        open(mnt.path(ACCOUNT_1, "policies", pol, "policy"), "w")
    assert writes(emulator) == []


def test_scratch_files_live_in_memory_only(emulator, mnt):
    path = f"{mnt.sync_dir}/notes.txt"
    with open(path, "w") as f:
        f.write("local only\n")
    assert read(path) == b"local only\n"
    assert "notes.txt" in os.listdir(mnt.sync_dir)
    with pytest.raises(OSError) as e:
        os.rmdir(mnt.sync_dir)
    assert e.value.errno == errno.ENOTEMPTY
    os.unlink(path)
    assert writes(emulator) == []


def test_field_renamed_away_stays_and_leaves_a_copy(emulator, mnt):
    os.rename(f"{mnt.sync_dir}/policy", f"{mnt.sync_dir}/policy.bak")
    assert read(f"{mnt.sync_dir}/policy.bak") == (mnt.sync["policy"] + "\n").encode()
    assert read(f"{mnt.sync_dir}/policy") == (mnt.sync["policy"] + "\n").encode()
    assert writes(emulator) == []


def test_links_are_refused(emulator, mnt):
    for fn in (os.link, os.symlink):
        with pytest.raises(OSError) as e:
            fn(f"{mnt.sync_dir}/policy", f"{mnt.sync_dir}/other")
        assert e.value.errno == errno.EPERM


def test_mkdir_rmdir_mv(emulator, mnt):
    acct = mnt.path(ACCOUNT_1)
    os.mkdir(f"{acct}/brand-new")
    made = emulator.sync("brand-new")
    assert read(f"{acct}/brand-new/id").decode().strip() == made["id"]
    # filled from the create's answer: no GET at all
    assert [(e["method"], json.loads(e["body"])) for e in emulator.log()] == \
        [("POST", {"name": "brand-new", "destination_type": "NONE",
                   "update_mode": "MANUAL"})]
    emulator.clear_log()
    os.rename(f"{acct}/brand-new", f"{acct}/renamed")
    assert bodies(emulator) == [("PATCH", {"name": "renamed"})]
    assert "renamed" in os.listdir(acct) and "brand-new" not in os.listdir(acct)
    assert read(f"{acct}/renamed/name") == b"renamed\n"
    emulator.clear_log()
    os.rmdir(f"{acct}/renamed")
    assert [(e["method"], e["query"]) for e in writes(emulator)] == [("DELETE", "")]
    assert "renamed" not in [s["name"] for s in emulator.syncs()]
    assert "renamed" not in os.listdir(acct)


def test_rm_r_deletes_with_one_request(emulator, mnt):
    acct = mnt.path(ACCOUNT_1)
    r = sh(f"rm -r {acct}/eu-subnets")
    assert r.returncode == 0, r.stderr
    assert [e["method"] for e in writes(emulator)] == ["DELETE"]
    assert "eu-subnets" not in [s["name"] for s in emulator.syncs()]


def test_mv_onto_existing_sync_is_eexist(emulator, mnt):
    acct = mnt.path(ACCOUNT_1)
    with pytest.raises(OSError) as e:
        os.rename(f"{acct}/prod-vpcs", f"{acct}/eu-subnets")
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        os.rename(f"{acct}/prod-vpcs", mnt.path(ACCOUNT_2, "moved"))
    assert e.value.errno == errno.EXDEV
    assert writes(emulator) == []


def test_mkdir_of_a_name_taken_elsewhere_is_eexist(emulator, mnt):
    emulator.insert_sync(ACCOUNT_1, {"name": "made-elsewhere"})
    with pytest.raises(FileExistsError):
        os.mkdir(mnt.path(ACCOUNT_1, "made-elsewhere"))
    assert b"409" in read(mnt.path(ACCOUNT_1, "last_error"))


def test_mkdir_uses_the_default_options(emulator):
    with Mount(emulator, "default_destination_type=ZERO_TRUST_LIST",
               "default_update_mode=AUTO", accounts=[ACCOUNT_1]) as m:
        emulator.clear_log()
        os.mkdir(m.path(ACCOUNT_1, "zt"))
        assert bodies(emulator) == [("POST", {"name": "zt", "destination_type":
                                              "ZERO_TRUST_LIST", "update_mode": "AUTO"})]
        assert read(m.path(ACCOUNT_1, "zt", "destination_type")) == b"ZERO_TRUST_LIST\n"


def test_mkdir_decodes_the_folder_name_rule(emulator, mnt):
    os.mkdir(mnt.path(ACCOUNT_1, "a%2Fb"))
    assert emulator.sync("a/b")
    for bad in ("50%off", "x%@8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f"):
        with pytest.raises(OSError) as e:
            os.mkdir(mnt.path(ACCOUNT_1, bad))
        assert e.value.errno == errno.EINVAL
    assert read(mnt.path(ACCOUNT_1, "last_error")) != b""


def test_sed_on_name_renames_the_folder_and_leaves_nothing_behind(emulator, mnt):
    acct = mnt.path(ACCOUNT_1)
    r = sh(f"sed -i 's/$/-x/' {acct}/eu-subnets/name")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(f"{acct}/eu-subnets-x")) == FIELD_FILES
    os.rmdir(f"{acct}/eu-subnets-x")
    assert "eu-subnets-x" not in [s["name"] for s in emulator.syncs()]


@pytest.mark.parametrize("folder", ["%41bc", "x%2fy", "tab\tname", "%FF"])
def test_mkdir_of_a_non_canonical_folder_name_is_einval(emulator, mnt, folder):
    with pytest.raises(OSError) as e:
        os.mkdir(mnt.path(ACCOUNT_1, folder))
    assert e.value.errno == errno.EINVAL
    assert writes(emulator) == []


def test_removing_one_of_two_namesakes_gives_the_other_its_plain_name(emulator, mnt):
    emulator.insert_sync(ACCOUNT_1, {"name": "twin"})
    emulator.insert_sync(ACCOUNT_1, {"name": "twin"})
    mnt.drop_cache()
    acct = mnt.path(ACCOUNT_1)
    twins = sorted(f for f in os.listdir(acct) if f.startswith("twin"))
    assert len(twins) == 2 and all("%@" in t for t in twins)
    os.rmdir(os.path.join(acct, twins[0]))
    assert "twin" in os.listdir(acct)


def test_delete_destination_after_token_file(emulator, tmp_path):
    """A value-less option after token_file= must not disturb it."""
    token = tmp_path / "token"
    token.write_text(emulator.token + "\n")
    token.chmod(0o600)
    with Mount(emulator, f"token_file={token}", "delete_destination",
               accounts=[ACCOUNT_1], token="") as m:
        emulator.clear_log()
        os.rmdir(m.path(ACCOUNT_1, "eu-subnets"))
        assert [(e["method"], e["query"]) for e in writes(emulator)] == \
            [("DELETE", "delete_destination=true")]


def test_delete_destination_option(emulator):
    with Mount(emulator, "delete_destination", accounts=[ACCOUNT_1]) as m:
        emulator.clear_log()
        os.rmdir(m.path(ACCOUNT_1, "eu-subnets"))
        assert [(e["method"], e["query"]) for e in writes(emulator)] == \
            [("DELETE", "delete_destination=true")]


def test_read_only_mount_refuses_everything(emulator):
    with Mount(emulator, "ro", accounts=[ACCOUNT_1]) as m:
        d = m.path(ACCOUNT_1, "prod-vpcs")
        os.listdir(d)
        emulator.clear_log()
        attempts = [
            lambda: open(f"{d}/policy", "w"),
            lambda: os.mkdir(m.path(ACCOUNT_1, "x")),
            lambda: os.rmdir(d),
            lambda: os.rename(d, m.path(ACCOUNT_1, "y")),
            lambda: open(f"{d}/scratch", "w"),
            lambda: os.unlink(f"{d}/policy"),
            lambda: os.truncate(f"{d}/policy", 0),
        ]
        for attempt in attempts:
            with pytest.raises(OSError) as e:
                attempt()
            assert e.value.errno == errno.EROFS
        assert emulator.log() == []
        assert os.stat(f"{d}/policy").st_mode & 0o222 == 0


RESTORE = ["rsync", "-rt", "--exclude=/policies/", "--exclude=/last_error",
           "--include=*/", "--include=config.json", "--exclude=*"]


def test_backup_and_restore_with_rsync(emulator, tmp_path):
    fresh = "99999999999999999999999999999999"
    emulator.add_account(fresh)
    backup = tmp_path / "backup"
    with Mount(emulator, accounts=[ACCOUNT_1, fresh]) as m:
        subprocess.run(["rsync", "-a", m.path(ACCOUNT_1) + "/", str(backup)], check=True)
        emulator.clear_log()
        r = subprocess.run(RESTORE + [f"{backup}/", m.path(fresh) + "/"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        keys = ("name", "description", "policy", "update_mode")
        original = sorted(tuple(s[k] for k in keys) for s in emulator.syncs(ACCOUNT_1))
        restored = sorted(tuple(s[k] for k in keys) for s in emulator.syncs(fresh))
        assert restored == original
        n = len(original)
        methods = [e["method"] for e in writes(emulator)]
        assert methods.count("POST") == n and methods.count("PUT") == n
        # restoring over the unchanged account sends nothing
        emulator.clear_log()
        r = subprocess.run(RESTORE + [f"{backup}/", m.path(ACCOUNT_1) + "/"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert writes(emulator) == []
