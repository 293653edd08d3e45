"""The README is part of the product: its quick start runs literally, and
every recipe in it runs as written against the demo it starts."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from emulator import REPO_ROOT
from mount import unmount_all

README = os.path.join(REPO_ROOT, "README.md")
DEMO_MNT = "/tmp/catsyncfs-demo"
DEMO_JOURNAL = "/tmp/catsyncfs-demo-journal.jsonl"
ACCOUNT = "0123456789abcdef0123456789abcdef"
CONTROL = "http://127.0.0.1:8787/__emulator"


def blocks(kind):
    """{name: code} of the ```sh blocks marked <!-- KIND:NAME -->."""
    text = open(README).read()
    return {m.group(1): m.group(2).strip() for m in re.finditer(
        r"<!-- " + kind + r":([\w-]+) -->\n```sh\n(.*?)\n```", text, re.S)}


def control(method, path, body=None):
    req = urllib.request.Request(CONTROL + path, method=method,
                                 data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def sync(name):
    acct = next(a for a in control("GET", "/state")["accounts"] if a["id"] == ACCOUNT)
    return next((s for s in acct["syncs"] if s["name"] == name), None)


def test_quick_start_commands_are_the_ones_ci_runs():
    quick = blocks("quickstart")
    assert quick == {"demo": "bash packaging/demo.sh", "test": "bash tests/run-all.sh"}
    ci = open(os.path.join(REPO_ROOT, ".ci", "run")).read()
    assert "tests/run-all.sh" in ci


@pytest.fixture(scope="module")
def demo():
    """Runs the README's demo command literally (CI lets it install too)."""
    env = dict(os.environ)
    if not env.get("CI"):
        env["SKIP_INSTALL"] = "1"
    r = subprocess.run(["bash", "-c", blocks("quickstart")["demo"]], cwd=REPO_ROOT,
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"mounted on {DEMO_MNT}" in r.stdout
    try:
        yield {"MNT": DEMO_MNT, "ACCOUNT": ACCOUNT, "JOURNAL": DEMO_JOURNAL}
    finally:
        unmount_all(DEMO_MNT)
        try:
            os.kill(int(open("/tmp/catsyncfs-emulator.pid").read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        subprocess.run(["rm", "-rf", "/tmp/cf-backup"])


def run_recipe(name, demo):
    env = dict(os.environ, **demo)
    return subprocess.run(["bash", "-e", "-c", blocks("recipe")[name]], env=env,
                          capture_output=True, text=True, timeout=120)


def test_recipe_list_is_complete():
    assert set(blocks("recipe")) == {"edit", "grep", "prebuilt", "folders", "refresh",
                                     "update-mode", "backup", "replace", "clone",
                                     "undo-save", "undelete", "today"}


def test_recipe_edit_in_vim(demo):
    code = blocks("recipe")["edit"]
    assert code.startswith("vim ")
    session = f"readme-vim-{os.getpid()}"
    cmd = code.replace("$MNT", demo["MNT"]).replace("$ACCOUNT", demo["ACCOUNT"])
    subprocess.run(["tmux", "new-session", "-d", "-s", session, cmd], check=True)
    try:
        time.sleep(1)
        subprocess.run(["tmux", "send-keys", "-t", session, "G", "o", "# edited in vim",
                        "Escape", ":wq", "Enter"], check=True)
        deadline = time.monotonic() + 10
        while subprocess.run(["tmux", "has-session", "-t", session],
                             capture_output=True).returncode == 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert sync("prod-vpcs")["policy"].endswith("# edited in vim")


def test_recipe_grep(demo):
    r = run_recipe("grep", demo)
    assert r.returncode == 0, r.stderr
    assert "/prod-vpcs/policy" in r.stdout


def test_recipe_prebuilt(demo):
    r = run_recipe("prebuilt", demo)
    assert r.returncode == 0, r.stderr
    pre = next(p for p in control("GET", "/state")["prebuilt_policies"]
               if p["policy_name"] == "all-aws-vpcs")
    assert sync("eu-subnets")["policy"] == pre["policy_string"]


def test_recipe_folders(demo):
    r = run_recipe("folders", demo)
    assert r.returncode == 0, r.stderr
    assert sync("lab-vnets") is None and sync("lab-vnets-eu") is None


def test_recipe_replace(demo):
    r = run_recipe("replace", demo)
    assert r.returncode == 0, r.stderr
    assert sync("azure-vnets")["policy"] == "package replaced"


def test_recipe_clone(demo):
    r = run_recipe("clone", demo)
    assert r.returncode == 0, r.stderr
    a, b = sync("prod-vpcs"), sync("prod-vpcs-copy")
    assert b is not None
    assert [a[k] for k in ("description", "policy", "update_mode")] == \
        [b[k] for k in ("description", "policy", "update_mode")]


def test_recipe_undo_save(demo):
    before = sync("eu-subnets")["policy"]
    with open(f"{DEMO_MNT}/{ACCOUNT}/eu-subnets/policy", "w") as f:
        f.write("package a bad save\n")
    assert sync("eu-subnets")["policy"] == "package a bad save"
    r = run_recipe("undo-save", demo)
    assert r.returncode == 0, r.stderr
    assert sync("eu-subnets")["policy"] == before


def test_recipe_undelete(demo):
    before = sync("azure-vnets")
    subprocess.run(["rm", "-r", f"{DEMO_MNT}/{ACCOUNT}/azure-vnets"], check=True)
    assert sync("azure-vnets") is None
    r = run_recipe("undelete", demo)
    assert r.returncode == 0, r.stderr
    after = sync("azure-vnets")
    keys = ("name", "description", "policy", "update_mode")
    assert [after[k] for k in keys] == [before[k] for k in keys]


def test_recipe_today(demo):
    with open(f"{DEMO_MNT}/{ACCOUNT}/prod-vpcs/description", "w") as f:
        f.write("changed today\n")
    r = run_recipe("today", demo)
    assert r.returncode == 0, r.stderr
    last = r.stdout.splitlines()[-1].split("\t")
    assert last[1:] == ["edit", "prod-vpcs", "description"]


def test_recipe_refresh(demo):
    r = run_recipe("refresh", demo)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    assert sync("prod-vpcs")["last_attempted_update_at"]


def test_recipe_update_mode(demo):
    r = run_recipe("update-mode", demo)
    assert r.returncode == 0, r.stderr
    assert "MANUAL" in r.stdout and sync("prod-vpcs")["update_mode"] == "MANUAL"


def test_recipe_backup_and_restore(demo):
    control("DELETE", "/log")
    r = run_recipe("backup", demo)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(f"/tmp/cf-backup/prod-vpcs/policy")
    # restoring over the account it came from sent no write
    assert [e for e in control("GET", "/log") if e["method"] != "GET"] == []
