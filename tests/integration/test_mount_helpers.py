"""mount(8), /etc/fstab and the mount helper calling convention: what a
user's first hour looks like with `mount -t fuse.catsyncfs` and fstab."""

import os
import shutil
import subprocess
import tempfile

import pytest

from emulator import ACCOUNT_1
from mount import daemon_binary, is_mounted, unmount_all


@pytest.fixture
def setup(emulator, tmp_path):
    token = tmp_path / "token"
    token.write_text(emulator.token + "\n")
    token.chmod(0o600)
    mnt = tempfile.mkdtemp(prefix="catsyncfs-mnt-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env["PATH"] = os.path.dirname(daemon_binary()) + ":" + env.get("PATH", "")
    # a journal of its own: mount(8) may not pass XDG_STATE_HOME on, and
    # root's default would be /var/lib/catsyncfs
    opts = (f"token_file={token},account={ACCOUNT_1},api_url={emulator.base_url},"
            f"journal={tmp_path}/journal.jsonl")
    try:
        yield emulator, mnt, opts, env, tmp_path
    finally:
        unmount_all(mnt)
        os.rmdir(mnt)


def check_mounted(mnt):
    assert is_mounted(mnt)
    assert "prod-vpcs" in os.listdir(os.path.join(mnt, ACCOUNT_1))
    with open("/proc/self/mountinfo") as f:
        line = next(l for l in f if l.split()[4] == os.path.realpath(mnt))
    assert "fuse.catsyncfs" in line and " catsyncfs " in line
    subprocess.run(["fusermount3", "-u", mnt], check=True)


def test_called_as_a_mount_helper(setup):
    """mount(8) runs /sbin/mount.fuse.catsyncfs SOURCE DIR -n -o OPTS -t TYPE."""
    emu, mnt, opts, env, _ = setup
    subprocess.run([daemon_binary(), "catsyncfs", mnt, "-n", "-o",
                    f"rw,{opts},_netdev,nofail,x-systemd.automount,noauto",
                    "-t", "fuse.catsyncfs"], check=True, env=env, timeout=30)
    check_mounted(mnt)


def test_through_mount_fuse3(setup):
    emu, mnt, opts, env, _ = setup
    subprocess.run(["mount.fuse3", "catsyncfs", mnt, "-t", "fuse.catsyncfs", "-o",
                    f"{opts},_netdev"], check=True, env=env, timeout=30)
    check_mounted(mnt)


# mount(8) runs helpers with a PATH of its own: only an installed catsyncfs
# (meson install, or the Debian package) is found there
INSTALLED = shutil.which("catsyncfs", path="/usr/local/bin:/usr/bin:/bin")
needs_install = pytest.mark.skipif(
    not INSTALLED, reason="catsyncfs is not installed (CI runs meson install)")


@needs_install
def test_mount_t_fuse_catsyncfs(setup):
    emu, mnt, opts, env, _ = setup
    subprocess.run(["mount", "-t", "fuse.catsyncfs", "catsyncfs", mnt, "-o", opts],
                   check=True, env=env, timeout=30)
    check_mounted(mnt)


@needs_install
def test_fstab_line_with_netdev(setup):
    emu, mnt, opts, env, tmp_path = setup
    fstab = tmp_path / "fstab"
    fstab.write_text(f"catsyncfs  {mnt}  fuse.catsyncfs  {opts},_netdev  0 0\n")
    subprocess.run(["mount", "-T", str(fstab), mnt], check=True, env=env, timeout=30)
    check_mounted(mnt)


@needs_install
@pytest.mark.parametrize("unit", ["catsyncfs@.service", "mnt-cf.mount"])
def test_systemd_units_verify(unit, tmp_path):
    src = os.path.join(os.path.dirname(__file__), "..", "..", "packaging", "systemd", unit)
    # a template is verified as an instance of itself
    name = unit.replace("@.", "@0123456789abcdef0123456789abcdef.")
    shutil.copy(src, tmp_path / name)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / name)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@needs_install
def test_installed_man_pages_and_helpers():
    for page in ("catsyncfs", "catsyncfs-emulator"):
        r = subprocess.run(["man", "-w", page], capture_output=True, text=True)
        assert r.returncode == 0, f"no man page for {page}"
    assert any(os.path.exists(os.path.join(d, "mount.fuse.catsyncfs"))
               for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"))
