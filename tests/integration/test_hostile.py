"""What a hostile tester found (issue 17), each as the user met it: a
listing that fails must fail the folder's read, replacing a field from
outside must work, options must not widen silently, a failed write must
send nothing, others must not write with the owner's token, and every
message must say what is wrong."""

import errno
import json
import os
import subprocess
import time

import pytest

from emulator import ACCOUNT_1, ACCOUNT_2, Emulator
from mount import Mount, daemon_binary, errno_of, run_mount_command

LIST = r"/catalog-syncs$"
PREBUILT = r"/prebuilt-policies"


def writes(emu):
    return [e for e in emu.log() if e["method"] != "GET"]


def sh(cmd, **kw):
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, **kw)


@pytest.fixture
def mnt(emulator):
    with Mount(emulator, "cache_ttl=60", accounts=[ACCOUNT_1, ACCOUNT_2]) as m:
        m.acct = m.path(ACCOUNT_1)
        m.sync_dir = m.path(ACCOUNT_1, "prod-vpcs")
        emulator.clear_log()
        yield m


def expire(m):
    m.drop_cache()
    time.sleep(1.1)     # the kernel's own one-second caches


# 1. A failed listing reads as an error, never as an empty account.

def test_rsync_delete_of_an_account_that_cannot_be_listed_fails_and_keeps_the_backup(
        emulator, mnt, tmp_path):
    backup = tmp_path / "b"
    subprocess.run(["rsync", "-a", mnt.acct + "/", str(backup)], check=True)
    kept = sorted(os.listdir(backup))
    assert "prod-vpcs" in kept
    emulator.fault("GET", LIST, status=404, count=-1)
    expire(mnt)
    r = subprocess.run(["rsync", "-a", "--delete", mnt.acct + "/", str(backup)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert sorted(os.listdir(backup)) == kept
    r = subprocess.run(["ls", mnt.acct], capture_output=True, text=True)
    assert r.returncode != 0 and "Input/output error" in r.stderr


@pytest.mark.parametrize("status, code", [(404, errno.EIO), (500, errno.EIO),
                                          (403, errno.EACCES)])
def test_every_folder_level_fails_with_the_cause_never_enoent(emulator, mnt,
                                                              status, code):
    emulator.fault("GET", LIST, status=status, count=-1)
    emulator.fault("GET", PREBUILT, status=status, count=-1)
    expire(mnt)
    assert errno_of(os.listdir, mnt.acct) == code
    assert errno_of(os.listdir, mnt.sync_dir) == code
    assert errno_of(os.stat, mnt.sync_dir) == code
    assert errno_of(os.listdir, mnt.path(ACCOUNT_1, "policies")) == code
    assert errno_of(os.listdir, mnt.path(ACCOUNT_1, "policies", "any")) == code
    # the root itself needs no API answer, and still lists its accounts
    assert ACCOUNT_1 in os.listdir(mnt.dir)


def test_an_emulator_restarted_empty_fails_the_listing(emulator, mnt):
    emulator.reset("empty")     # no account at all: the listing is a 404
    expire(mnt)
    assert errno_of(os.listdir, mnt.acct) == errno.EIO
    with open(mnt.path(ACCOUNT_1, "last_error")) as f:
        assert "404" in f.read()


def test_a_sync_deleted_elsewhere_is_enoent_on_lookup(emulator, mnt):
    emulator.delete_sync_direct(ACCOUNT_1, emulator.sync("prod-vpcs")["id"])
    expire(mnt)
    assert errno_of(os.stat, mnt.sync_dir) == errno.ENOENT
    assert "prod-vpcs" not in os.listdir(mnt.acct)


def test_the_account_last_error_clears_after_a_good_listing(emulator, mnt):
    emulator.fault("GET", LIST, status=403, count=1)
    expire(mnt)
    assert errno_of(os.listdir, mnt.acct) == errno.EACCES
    with open(mnt.path(ACCOUNT_1, "last_error")) as f:
        assert "403" in f.read()
    expire(mnt)
    assert "prod-vpcs" in os.listdir(mnt.acct)
    with open(mnt.path(ACCOUNT_1, "last_error")) as f:
        assert f.read() == ""


# 2. unlink then create of a field is a replace.

@pytest.mark.parametrize("tool", [
    "mv {src} {dst}",
    "install -m644 {src} {dst}",
    "cp --remove-destination {src} {dst}",
])
def test_replacing_a_field_from_outside_sends_it(emulator, mnt, tmp_path, tool):
    src = tmp_path / "new.rego"
    src.write_text("package replaced\n")
    dst = os.path.join(mnt.sync_dir, "policy")
    r = sh(tool.format(src=src, dst=dst))
    assert r.returncode == 0, r.stderr
    assert emulator.sync("prod-vpcs")["policy"] == "package replaced"
    assert [e["method"] for e in writes(emulator)] == ["PATCH"]
    with open(dst) as f:
        assert f.read() == "package replaced\n"
    assert "policy" in os.listdir(mnt.sync_dir)


def test_an_unlinked_field_is_gone_until_created_or_listed_afresh(emulator, mnt):
    policy = os.path.join(mnt.sync_dir, "policy")
    before = emulator.sync("prod-vpcs")["policy"]
    os.unlink(policy)
    assert "policy" not in os.listdir(mnt.sync_dir)
    assert errno_of(os.stat, policy) == errno.ENOENT
    assert errno_of(open, policy) == errno.ENOENT
    assert writes(emulator) == []
    time.sleep(5.1)     # a mark outlives listings for 5 s at least
    expire(mnt)
    assert "policy" in os.listdir(mnt.sync_dir)
    with open(policy) as f:
        assert f.read() == before + "\n"


def test_a_field_created_and_never_written_sends_nothing(emulator, mnt):
    """As O_TRUNC alone: `rm f; touch f`, or a tool that creates the file
    and dies, must not empty a live field."""
    dst = os.path.join(mnt.sync_dir, "description")
    before = emulator.sync("prod-vpcs")["description"]
    r = sh(f"rm {dst} && touch {dst} && cp --remove-destination /dev/null {dst}")
    assert r.returncode == 0, r.stderr
    assert writes(emulator) == []
    assert emulator.sync("prod-vpcs")["description"] == before


def test_rm_then_a_shell_redirect_is_one_save(emulator, mnt):
    """bash opens with O_CREAT|O_TRUNC, dup2s and closes the first copy
    (a FLUSH) before echo writes: that close must send nothing."""
    dst = os.path.join(mnt.sync_dir, "policy")
    before = emulator.sync("prod-vpcs")["policy"]
    # the API refuses this one (422; the shell ignores close's error):
    # the live policy must stay, never emptied on the way
    sh(f"rm {dst}; echo 'package broken {{' > {dst}")
    assert emulator.sync("prod-vpcs")["policy"] == before
    r = sh(f"rm {dst}; echo 'package fine' > {dst}")
    assert r.returncode == 0, r.stderr
    assert emulator.sync("prod-vpcs")["policy"] == "package fine"
    patches = [e for e in writes(emulator) if e["method"] == "PATCH"]
    assert [json.loads(e["body"]) for e in patches] == \
        [{"policy": "package broken {"}, {"policy": "package fine"}]


def test_a_failed_rm_r_shows_the_fields_again(emulator, mnt, tmp_path):
    backup = tmp_path / "b"
    subprocess.run(["rsync", "-a", mnt.acct + "/", str(backup)], check=True)
    emulator.fault("DELETE", ".*", status=403, count=-1)
    r = sh(f"rm -rf {mnt.sync_dir}")
    assert r.returncode != 0
    assert "policy" in os.listdir(mnt.sync_dir)
    r = subprocess.run(["rsync", "-a", "--delete", mnt.acct + "/", str(backup)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "policy" in os.listdir(backup / "prod-vpcs")


def test_a_replace_holds_across_a_new_listing(emulator, tmp_path):
    """cache_ttl=0: every use fetches the listing, and the replace still
    finds the field it unlinked gone."""
    with Mount(emulator, "cache_ttl=0", accounts=[ACCOUNT_1]) as m:
        src = tmp_path / "new.rego"
        src.write_text("package ttl0\n")
        r = sh(f"mv {src} {m.path(ACCOUNT_1, 'prod-vpcs', 'policy')}")
        assert r.returncode == 0, r.stderr
        assert emulator.sync("prod-vpcs")["policy"] == "package ttl0"


def test_rm_r_still_deletes_a_sync(emulator, mnt):
    r = sh(f"rm -r {mnt.sync_dir}")
    assert r.returncode == 0, r.stderr
    assert [e["method"] for e in writes(emulator)] == ["DELETE"]


def test_the_clone_recipe_copies_a_sync(emulator, mnt):
    clone = mnt.path(ACCOUNT_1, "prod-vpcs-copy")
    r = sh(f"mkdir {clone} && cp {mnt.sync_dir}/description "
           f"{mnt.sync_dir}/policy {mnt.sync_dir}/update_mode {clone}/")
    assert r.returncode == 0, r.stderr
    a, b = emulator.sync("prod-vpcs"), emulator.sync("prod-vpcs-copy")
    for key in ("description", "policy", "update_mode"):
        assert a[key] == b[key]


# 3. Options never widen silently.

@pytest.mark.parametrize("options", [("account=",),
                                     (f"account={ACCOUNT_1}", "account=")])
def test_an_empty_account_option_is_an_error(emulator, options):
    code, out, _ = run_mount_command(emulator, *options, token=emulator.token)
    assert code == 1
    assert "account= is empty" in out
    assert emulator.log() == []


# 4. A failed write sends nothing.

def test_a_write_past_the_size_limit_sends_nothing_and_close_says_efbig(emulator, mnt):
    policy = os.path.join(mnt.sync_dir, "policy")
    fd = os.open(policy, os.O_WRONLY | os.O_TRUNC)
    chunk = b"x" * (1 << 20)
    failed = 0
    for _ in range(20):
        try:
            os.write(fd, chunk)
        except OSError as e:
            failed = e.errno
            break
    assert failed == errno.EFBIG
    assert errno_of(os.close, fd) == errno.EFBIG
    assert writes(emulator) == []
    assert emulator.sync("prod-vpcs")["policy"].startswith("package")


def test_a_413_from_the_api_is_efbig(emulator, mnt):
    emulator.fault("PATCH", ".*", status=413, count=1)
    fd = os.open(os.path.join(mnt.sync_dir, "description"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"big\n")
    assert errno_of(os.close, fd) == errno.EFBIG


# 5. Secrets and owners.

def test_the_token_leaves_the_daemon_environment(emulator):
    with Mount(emulator, accounts=[ACCOUNT_1]) as m:
        with open(f"/proc/{m.proc.pid}/environ", "rb") as f:
            env = f.read()
        # the variable's text is wiped where /proc shows it
        assert emulator.token.encode() not in env
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))


AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def test_only_the_mounting_user_changes_anything_whatever_the_umask(emulator):
    with Mount(emulator, "allow_other", "umask=0000", accounts=[ACCOUNT_1]) as m:
        d = m.path(ACCOUNT_1, "prod-vpcs")
        assert os.stat(os.path.join(d, "policy")).st_mode & 0o777 == 0o777
        emulator.clear_log()
        attempts = [
            f"echo x > {d}/description",
            f"mkdir {m.path(ACCOUNT_1, 'by-nobody')}",
            f"rmdir {d}",
            f"mv {d} {m.path(ACCOUNT_1, 'moved')}",
            f"echo 1 > {d}/refresh",
            f"rm {d}/policy",
            f"touch {d}/scratch",
        ]
        for cmd in attempts:
            r = subprocess.run(AS_NOBODY + ["sh", "-c", cmd],
                               capture_output=True, text=True)
            assert r.returncode != 0, cmd
            assert "Permission denied" in r.stderr, (cmd, r.stderr)
        assert writes(emulator) == []
        # reading is still everyone's
        r = subprocess.run(AS_NOBODY + ["cat", f"{d}/policy"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "package" in r.stdout


def test_a_rotated_token_file_is_read_again_after_a_403(tmp_path):
    token = tmp_path / "token"
    token.write_text("old-token\n")
    token.chmod(0o600)
    first = Emulator(token="old-token")
    port = first.port
    try:
        with Mount(first, f"token_file={token}", "cache_ttl=1",
                   accounts=[ACCOUNT_1], token="") as m:
            assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
            # the token is rotated: the API takes only the new one, and
            # the file is rewritten with it
            first.stop()
            second = Emulator("--port", str(port), token="rotated-token-2")
            try:
                token.write_text("rotated-token-2\n")
                time.sleep(1.2)
                assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
                # refused once with the old token, then sent again with
                # the new one
                assert [(e["method"], e["status"]) for e in second.log()] == \
                    [("GET", 403), ("GET", 200)]
            finally:
                m.unmount()
                second.stop()
    finally:
        first.stop()


# 6. Messages.

@pytest.mark.parametrize("option, words", [
    ("timeout=0", "timeout=0 is out of range: it takes 1 to 3600 seconds"),
    ("retries=1000", "retries=1000 is out of range: it takes 0 to 10"),
    ("cache_ttl=-1", "cache_ttl=-1 is out of range: it takes 0 to 86400 seconds"),
    ("timeout=5m", "timeout='5m' is not a whole number"),
    ("cache_ttl=0x10", "cache_ttl='0x10' is not a whole number"),
])
def test_a_range_error_names_its_option_and_range(emulator, option, words):
    code, out, _ = run_mount_command(emulator, option, token=emulator.token)
    assert code == 1 and words in out, out


def test_a_missing_mount_point_gives_no_stale_mount_hint(emulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env["CLOUDFLARE_API_TOKEN"] = emulator.token
    r = subprocess.run([daemon_binary(), "-o", f"api_url={emulator.base_url}",
                        "/nonexistent/catsyncfs-mnt"], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 1
    assert "No such file or directory" in r.stderr
    assert "stale" not in r.stderr and "fusermount3" not in r.stderr


def test_a_symlinked_token_file_says_why(emulator, tmp_path):
    real = tmp_path / "real"
    real.write_text(emulator.token + "\n")
    real.chmod(0o600)
    link = tmp_path / "link"
    link.symlink_to(real)
    code, out, _ = run_mount_command(emulator, f"token_file={link}")
    assert code == 1
    assert "is a symbolic link" in out


def test_a_whitespace_padded_token_is_trimmed(emulator, tmp_path):
    token = tmp_path / "token"
    token.write_text(f"  {emulator.token} \t\r\n")
    token.chmod(0o600)
    with Mount(emulator, f"token_file={token}", accounts=[ACCOUNT_1], token="") as m:
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
    with Mount(emulator, accounts=[ACCOUNT_1], token=f" {emulator.token}\n") as m:
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
