"""The read side of SPEC "The tree", over real mounts of the emulator."""

import errno
import json
import os
import subprocess
import threading
import time

import pytest

from emulator import ACCOUNT_1, ACCOUNT_2, Emulator, syncs_path
from mount import Mount, run_mount_command

FIELDS = ["name", "description", "policy", "update_mode", "id",
          "destination_type", "destination_id"]
SYNC_FILES = sorted(FIELDS + ["config.json", "status.json", "last_error",
                              "refresh"])
LIST_RE = r"/catalog-syncs$"
PREBUILT_RE = r"/prebuilt-policies$"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def prebuilt(emu, account=ACCOUNT_1):
    status, _, body = emu.request("GET", syncs_path(account, suffix="/prebuilt-policies"))
    assert status == 200
    return body["result"]


def test_tree_has_accounts_syncs_fields_and_policies(emulator):
    with Mount(emulator) as m:
        assert sorted(os.listdir(m.dir)) == sorted([ACCOUNT_1, ACCOUNT_2, "stats.json"])
        names = sorted(s["name"] for s in emulator.syncs(ACCOUNT_1))
        assert sorted(os.listdir(m.path(ACCOUNT_1))) == \
            sorted(names + ["last_error", "policies"])
        for name in names:
            assert sorted(os.listdir(m.path(ACCOUNT_1, name))) == SYNC_FILES
        pols = sorted(p["policy_name"] for p in prebuilt(emulator))
        assert sorted(os.listdir(m.path(ACCOUNT_1, "policies"))) == pols


def test_field_files_read_as_value_and_newline(emulator):
    with Mount(emulator) as m:
        for account in (ACCOUNT_1, ACCOUNT_2):
            for sync in emulator.syncs(account):
                folder = m.path(account, sync["name"])
                for field in FIELDS:
                    assert read(os.path.join(folder, field)) == \
                        (sync[field] + "\n").encode(), field
                config = json.loads(read(os.path.join(folder, "config.json")))
                assert config == {k: sync[k] for k in
                                  ("name", "description", "policy", "update_mode")}
                assert json.loads(read(os.path.join(folder, "status.json"))) == sync
                assert read(os.path.join(folder, "last_error")) == b""
                assert read(os.path.join(folder, "refresh")) == b""


def test_stat_size_equals_bytes_read_for_every_file(emulator):
    with Mount(emulator) as m:
        checked = 0
        for root, _, files in os.walk(m.dir):
            for name in files:
                path = os.path.join(root, name)
                assert os.stat(path).st_size == len(read(path)), path
                checked += 1
        assert checked > 50


def test_policies_match_the_prebuilt_policies(emulator):
    with Mount(emulator) as m:
        for p in prebuilt(emulator):
            folder = m.path(ACCOUNT_1, "policies", p["policy_name"])
            assert read(os.path.join(folder, "policy")) == (p["policy_string"] + "\n").encode()
            assert read(os.path.join(folder, "description")) == \
                (p["policy_description"] + "\n").encode()
            assert read(os.path.join(folder, "applicable_destinations")).decode() == \
                "".join(d + "\n" for d in p["applicable_destinations"])


def test_modes_are_honest_and_inodes_stable(emulator):
    with Mount(emulator, "cache_ttl=60") as m:
        folder = m.path(ACCOUNT_1, "prod-vpcs")
        modes = {f: os.stat(os.path.join(folder, f)).st_mode & 0o777 for f in SYNC_FILES}
        for f in ("name", "description", "policy", "update_mode", "config.json", "refresh"):
            assert modes[f] == 0o644, f
        for f in ("id", "destination_type", "destination_id", "status.json", "last_error"):
            assert modes[f] == 0o444, f
        assert os.stat(m.path(ACCOUNT_1, "policies")).st_mode & 0o222 == 0
        inodes = {f: os.stat(os.path.join(folder, f)).st_ino for f in SYNC_FILES}
        assert len(set(inodes.values())) == len(SYNC_FILES)
        m.drop_cache()
        time.sleep(1.1)
        assert inodes == {f: os.stat(os.path.join(folder, f)).st_ino for f in SYNC_FILES}
        assert os.stat(folder).st_uid == os.getuid()


def test_mtimes_come_from_the_api_and_do_not_move(emulator):
    with Mount(emulator, "cache_ttl=1") as m:
        sync = emulator.sync("prod-vpcs")
        folder = m.path(ACCOUNT_1, "prod-vpcs")
        before = {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in SYNC_FILES}
        # the emulator's timestamps carry microseconds
        from datetime import datetime
        expect = datetime.strptime(sync["last_user_update_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        expect_ns = int((expect - datetime(1970, 1, 1)).total_seconds() * 1e6) * 1000
        assert before["policy"] == expect_ns
        time.sleep(2.2)
        after = {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in SYNC_FILES}
        assert before == after


def test_accounts_discovered_across_pages(emulator):
    extra = [f"{i:032x}" for i in range(1, 61)]
    for account in extra:
        emulator.add_account(account)
    emulator.clear_log()
    with Mount(emulator) as m:
        assert sorted(os.listdir(m.dir)) == sorted([ACCOUNT_1, ACCOUNT_2, "stats.json"] + extra)
        pages = [e["query"] for e in emulator.api_calls("GET", r"^/accounts$")]
        assert len(pages) == 3, pages       # 50, 12, then the empty page
        assert "page=3" in pages[-1]


def test_two_accounts_discovered_from_the_demo(emulator):
    emulator.clear_log()
    with Mount(emulator) as m:
        assert sorted(os.listdir(m.dir)) == [ACCOUNT_1, ACCOUNT_2, "stats.json"]
        assert len(emulator.api_calls("GET", r"^/accounts$")) == 2


@pytest.fixture
def big_emulator():
    emu = Emulator("--syncs", "500")
    try:
        yield emu
    finally:
        emu.stop()


WALKS = {
    "ls -lR": ["ls", "-lR", "{acct}"],
    "find": ["find", "{acct}"],
    "grep -r": ["grep", "-r", "tag:team", "{acct}"],
    "du -a": ["du", "-a", "{acct}"],
    "cat */policy": ["sh", "-c", "cat {acct}/*/policy"],
}


@pytest.mark.parametrize("walk", sorted(WALKS))
def test_whole_account_walk_costs_one_listing(big_emulator, walk):
    emu = big_emulator
    with Mount(emu, "cache_ttl=60", accounts=[ACCOUNT_1]) as m:
        m.drop_cache()
        time.sleep(1.1)     # let the kernel's one-second caches lapse too
        emu.clear_log()
        cmd = [a.format(acct=m.path(ACCOUNT_1)) for a in WALKS[walk]]
        out = subprocess.run(cmd, capture_output=True)
        assert out.returncode == 0, out.stderr
        calls = emu.log()
        lists = [c for c in calls if c["path"].endswith("/catalog-syncs")]
        pre = [c for c in calls if c["path"].endswith("/prebuilt-policies")]
        assert len(lists) == 1, [c["path"] for c in calls][:10]
        assert len(pre) == 1      # the glob of cat */policy looks in policies/ too
        assert len(calls) == len(lists) + len(pre), "no per-sync GET"
        if walk == "grep -r":
            assert out.stdout.count(b"tag:team") >= 500


def test_big_folders_list_every_entry_once(big_emulator):
    """A folder longer than one READDIRPLUS answer is listed in parts, each
    resuming at the offset the last one ended: nothing lost, nothing twice."""
    emu = big_emulator
    with Mount(emu, "cache_ttl=60", accounts=[ACCOUNT_1]) as m:
        listed = os.listdir(m.path(ACCOUNT_1))
        assert len(listed) == len(set(listed))
        assert len(listed) == len(emu.syncs(ACCOUNT_1)) + 2     # + last_error, policies
        assert {"last_error", "policies"} <= set(listed)
        sync_dir = m.path(ACCOUNT_1, sorted(set(listed) - {"last_error", "policies"})[0])
        scratch = [f".scratch-file-with-a-long-name-{i:03d}.swp" for i in range(60)]
        for name in scratch:
            with open(os.path.join(sync_dir, name), "w") as f:
                f.write(name)
        inside = os.listdir(sync_dir)
        assert sorted(inside) == sorted(SYNC_FILES + scratch)
        # ls -l stats every entry of the parts the folder was listed in
        out = subprocess.run(["ls", "-lnA", sync_dir], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.splitlines()) == 1 + len(SYNC_FILES) + len(scratch)
        for name in scratch:
            os.unlink(os.path.join(sync_dir, name))


@pytest.mark.parametrize("new", ["x", "a much longer description " * 20])
def test_a_read_after_a_size_change_is_never_cut(emulator, new):
    """Settled files are read through the page cache, where the kernel
    cuts a read at the size it last heard.  Here the kernel holds the old
    size while the open fetches a listing with the new value: the read
    must show the old or the new value whole, never a cut one."""
    with Mount(emulator, "cache_ttl=1", accounts=[ACCOUNT_1]) as m:
        sync = emulator.sync("prod-vpcs")
        path = m.path(ACCOUNT_1, "prod-vpcs", "description")
        old, want = (sync["description"] + "\n").encode(), (new + "\n").encode()
        assert read(path) == old
        time.sleep(2.5)                 # settled, and the listing expired
        os.listdir(m.path(ACCOUNT_1))   # fetches the listing now (f)
        time.sleep(0.8)
        os.stat(path)                   # the kernel keeps the old size until f + 1.8
        emulator.set_sync(ACCOUNT_1, sync["id"], description=new)
        time.sleep(0.35)                # the listing expired at f + 1
        assert read(path) in (old, want)    # this open fetches the new value
        started = time.monotonic()
        while read(path) != want:
            assert time.monotonic() - started < 3, "change not seen"
            time.sleep(0.1)


def test_parallel_readers_of_an_expired_listing_share_one_request(emulator):
    with Mount(emulator, "cache_ttl=1", accounts=[ACCOUNT_1]) as m:
        names = [s["name"] for s in emulator.syncs(ACCOUNT_1)]
        emulator.config(latency_ms=300)
        time.sleep(1.5)
        emulator.clear_log()
        barrier = threading.Barrier(16)
        errors = []

        def reader(i):
            try:
                barrier.wait()
                read(m.path(ACCOUNT_1, names[i % len(names)], FIELDS[i % len(FIELDS)]))
            except Exception as e:      # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        assert len(emulator.api_calls("GET", LIST_RE)) == 1


def test_change_elsewhere_appears_within_ttl(emulator):
    with Mount(emulator, "cache_ttl=2", accounts=[ACCOUNT_1]) as m:
        sync = emulator.sync("prod-vpcs")
        path = m.path(ACCOUNT_1, "prod-vpcs", "description")
        assert read(path) == (sync["description"] + "\n").encode()
        emulator.set_sync(ACCOUNT_1, sync["id"], description="changed in the dashboard")
        started = time.monotonic()
        while read(path) != b"changed in the dashboard\n":
            assert time.monotonic() - started < 2 + 1.5, "change not seen within cache_ttl"
            time.sleep(0.1)


def test_usr1_drops_the_cache_at_once(emulator):
    with Mount(emulator, "cache_ttl=600", accounts=[ACCOUNT_1]) as m:
        sync = emulator.sync("prod-vpcs")
        path = m.path(ACCOUNT_1, "prod-vpcs", "policy")
        assert read(path) == (sync["policy"] + "\n").encode()
        emulator.set_sync(ACCOUNT_1, sync["id"], policy="a much longer policy than before\n" * 3)
        assert read(path) == (sync["policy"] + "\n").encode()   # still trusted
        m.drop_cache()
        assert read(path) == ("a much longer policy than before\n" * 3 + "\n").encode()


def test_the_first_call_serves_the_first_walk(emulator):
    """The mount's own listing call is parsed once mounted and serves the
    first reader: no second request for it."""
    emulator.clear_log()
    with Mount(emulator, "cache_ttl=60", accounts=[ACCOUNT_1]) as m:
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
        assert read(m.path(ACCOUNT_1, "prod-vpcs", "name")) == b"prod-vpcs\n"
        assert len(emulator.api_calls("GET", LIST_RE)) == 1


def test_a_malformed_first_listing_is_logged_then_asked_again(emulator):
    """The first call proves the credentials (2xx); a body that does not
    parse fails as any later listing would (EIO to a reader that shares
    that parse, a log line) and the next use asks again."""
    emulator.fault("GET", LIST_RE, action="malformed", count=1)
    with Mount(emulator, "cache_ttl=60", accounts=[ACCOUNT_1]) as m:
        try:
            names = os.listdir(m.path(ACCOUNT_1))
        except OSError as e:            # shared the parse of the bad body
            assert e.errno == errno.EIO
            names = os.listdir(m.path(ACCOUNT_1))
        assert "prod-vpcs" in names
        assert "malformed answer" in m.log()
        assert len(emulator.api_calls("GET", LIST_RE)) == 2


def test_idle_mount_and_statfs_make_no_requests(emulator):
    with Mount(emulator, "cache_ttl=1") as m:
        os.listdir(m.path(ACCOUNT_1))
        emulator.clear_log()
        time.sleep(3)
        os.statvfs(m.dir)
        subprocess.run(["df", m.dir], check=True, capture_output=True)
        assert emulator.log() == []


def test_debug_log_names_each_call_without_credentials(emulator):
    with Mount(emulator) as m:
        os.listdir(m.path(ACCOUNT_1))
        log = m.log()
    lines = [l for l in log.splitlines() if "api: GET" in l and "catalog-syncs" in l]
    assert lines
    assert "-> 200" in lines[0] and "cf-ray=" in lines[0] and "ms" in lines[0]
    assert emulator.token not in log


def test_rsync_backup_matches_and_second_run_sends_nothing(emulator, tmp_path):
    backup = tmp_path / "backup"
    with Mount(emulator, accounts=[ACCOUNT_1]) as m:
        src = m.path(ACCOUNT_1) + "/"
        subprocess.run(["rsync", "-a", src, str(backup)], check=True)
        for sync in emulator.syncs(ACCOUNT_1):
            for field in FIELDS:
                assert (backup / sync["name"] / field).read_text() == sync[field] + "\n"
        out = subprocess.run(["rsync", "-a", "--itemize-changes", src, str(backup)],
                             check=True, capture_output=True, text=True).stdout
        sent = [l for l in out.splitlines() if l.startswith(">f")]
        assert sent == [], out
    # and after a remount too, but for policies/: SPEC dates those by when
    # this mount first saw them, as the API gives them no timestamp
    with Mount(emulator, accounts=[ACCOUNT_1]) as m:
        out = subprocess.run(["rsync", "-a", "--itemize-changes", "--exclude=/policies/",
                              m.path(ACCOUNT_1) + "/", str(backup)],
                             check=True, capture_output=True, text=True).stdout
        assert [l for l in out.splitlines() if l.startswith(">f")] == [], out


def test_wrong_token_fails_fast_naming_authentication(emulator):
    secret = "wrong-secret-token-1234567890"
    code, out, took = run_mount_command(emulator, token=secret)
    assert code != 0
    assert took < 10
    assert "authentication" in out.lower()
    assert "Invalid access token" in out
    assert secret not in out
    assert len(out.strip().splitlines()) == 1


def test_unreachable_api_fails_fast(emulator):
    code, out, took = run_mount_command(
        None, "api_url=http://127.0.0.1:9/client/v4", token="some-token-abcdef")
    assert code != 0
    assert took < 15
    assert "cannot reach" in out
    assert "some-token-abcdef" not in out


def test_missing_token_is_named(emulator):
    code, out, _ = run_mount_command(emulator)
    assert code != 0
    assert "no API token" in out


@pytest.mark.parametrize("url", ["http://example.com/client/v4",
                                 "http://127.0.0.1@example.com/client/v4",
                                 "http://localhost:80@example.com/",
                                 "http://127.example.com/"])
def test_plain_http_only_to_loopback(url):
    code, out, _ = run_mount_command(None, f"api_url={url}", token="t")
    assert code != 0 and "plain http" in out


def test_token_file_readable_by_others_is_refused(emulator, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(emulator.token + "\n")
    token_file.chmod(0o644)
    code, out, _ = run_mount_command(emulator, f"token_file={token_file}")
    assert code != 0 and "readable by group or others" in out
    token_file.chmod(0o600)
    with Mount(emulator, f"token_file={token_file}", token="") as m:
        assert ACCOUNT_1 in os.listdir(m.dir)


def test_forbidden_account_has_folder_with_eacces_and_last_error(emulator):
    forbidden = "abcdefabcdefabcdefabcdefabcdef00"
    emulator.add_account(forbidden, forbidden=True)
    with Mount(emulator) as m:
        assert forbidden in os.listdir(m.dir)
        with pytest.raises(PermissionError):
            os.listdir(m.path(forbidden))
        err = read(m.path(forbidden, "last_error")).decode()
        assert "403" in err and "10000" in err
        # the rest of the mount works
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))


AWKWARD = ["a/b", "policies", "last_error", "dup", "dup", ".", "..", "",
           "réseau ☁", "x" * 300, "50%", "tab\there"]


def test_awkward_names_each_get_exactly_one_folder(emulator):
    emulator.reset("empty")
    emulator.add_account(ACCOUNT_1)
    made = [emulator.insert_sync(ACCOUNT_1, {"name": n}) for n in AWKWARD]
    ids = {s["id"] for s in made}
    with Mount(emulator, accounts=[ACCOUNT_1]) as m:
        folders = [f for f in os.listdir(m.path(ACCOUNT_1))
                   if f not in ("policies", "last_error")]
        assert len(folders) == len(AWKWARD)
        seen = set()
        for f in folders:
            assert len(f.encode()) <= 255
            sync_id = read(m.path(ACCOUNT_1, f, "id")).decode().strip()
            name = read(m.path(ACCOUNT_1, f, "name")).decode()[:-1]
            assert sync_id in ids
            assert {s["id"]: s["name"] for s in made}[sync_id] == name
            seen.add(sync_id)
        assert seen == ids
        assert "a%2Fb" in folders and "réseau ☁" in folders and "50%25" in folders
        assert not any(f in (".", "..", "policies", "last_error") for f in folders)


def test_accounts_from_the_environment(emulator):
    emulator.clear_log()
    with Mount(emulator, env={"CLOUDFLARE_ACCOUNT_ID": ACCOUNT_2}) as m:
        assert sorted(os.listdir(m.dir)) == [ACCOUNT_2, "stats.json"]
    assert emulator.api_calls("GET", r"^/accounts$") == []


def test_legacy_email_and_key(emulator):
    env = {"CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_EMAIL": emulator.email,
           "CLOUDFLARE_API_KEY": emulator.api_key}
    with Mount(emulator, env=env, token="") as m:
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
    assert {e["auth"] for e in emulator.log()} == {"legacy"}


def test_uid_gid_umask_options(emulator):
    with Mount(emulator, "uid=1234,gid=4321,umask=0077") as m:
        st = os.stat(m.path(ACCOUNT_1, "prod-vpcs", "policy"))
        assert (st.st_uid, st.st_gid) == (1234, 4321)
        assert st.st_mode & 0o077 == 0


def test_high_level_caching_options_are_ignored_with_a_word(emulator):
    """An fstab line written for another FUSE filesystem still mounts:
    catsyncfs sets the kernel's caching itself and says what it left out."""
    with Mount(emulator, "kernel_cache,entry_timeout=5,use_ino") as m:
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))
        for opt in ("kernel_cache", "entry_timeout=5", "use_ino"):
            assert f"option '{opt}' ignored" in m.log()


def test_version_names_every_library():
    from mount import daemon_binary
    out = subprocess.run([daemon_binary(), "--version"], capture_output=True,
                         text=True, check=True).stdout
    for word in ("catsyncfs", "libfuse", "libcurl", "cJSON"):
        assert word in out


@pytest.fixture
def tls_emulator(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    emu = Emulator("--tls-cert", str(cert), "--tls-key", str(key))
    emu.cert = cert
    try:
        yield emu
    finally:
        emu.stop()


def test_tls_is_verified_and_cafile_trusts_a_private_ca(tls_emulator):
    emu = tls_emulator
    assert emu.base_url.startswith("https://")
    code, out, _ = run_mount_command(emu, token=emu.token)
    assert code != 0 and "cannot reach" in out and "certificate" in out.lower()
    with Mount(emu, f"cafile={emu.cert}") as m:
        assert "prod-vpcs" in os.listdir(m.path(ACCOUNT_1))


def test_allow_other_lets_others_read_but_only_the_owner_write(emulator):
    with Mount(emulator, "allow_other", accounts=[ACCOUNT_1]) as m:
        policy = m.path(ACCOUNT_1, "prod-vpcs", "policy")
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        r = subprocess.run(as_nobody + ["cat", policy], capture_output=True, text=True)
        assert r.returncode == 0 and "package" in r.stdout, r.stderr
        emulator.clear_log()
        r = subprocess.run(as_nobody + ["sh", "-c", f"echo x > {policy}"],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr
        assert [e for e in emulator.log() if e["method"] != "GET"] == []
