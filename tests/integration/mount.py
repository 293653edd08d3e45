"""Mount catsyncfs in tests, and make sure nothing is left behind.

    with Mount(emu, "cache_ttl=60") as m:
        open(m.path(ACCOUNT_1, "prod-vpcs", "policy")).read()

A mount runs in the foreground (-f -d) so that its log is captured and its
exit status checked: unmount() asserts the daemon exited 0 and that its
output holds no sanitizer, valgrind or crash report, nor the token.
$CATSYNCFS_WRAPPER (e.g. "valgrind -q --error-exitcode=99") prefixes the
daemon's command line.
"""

import atexit
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from emulator import REPO_ROOT

# Lines that mean the daemon misbehaved, whatever its exit status.
BAD_OUTPUT = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
    r"runtime error:|==\d+== (ERROR|Invalid|Conditional|Use of)|"
    r"definitely lost: [1-9]|Segmentation fault|Aborted|core dumped")
# Known harmless lines (libfuse 3.14 prints this at every start).
HARMLESS = re.compile(r"Ignoring invalid max threads value")
# $XDG_STATE_HOME of every daemon the tests start, so that the default
# journal never lands in the home of the user running the tests.
STATE_HOME = tempfile.mkdtemp(prefix="catsyncfs-state-")
atexit.register(shutil.rmtree, STATE_HOME, ignore_errors=True)


def daemon_binary():
    build = os.environ.get("CATSYNCFS_BUILD_DIR", "build")
    if not os.path.isabs(build):
        build = os.path.join(REPO_ROOT, build)
    return os.path.join(build, "src", "catsyncfs")


def memory_kib(pid, field="VmRSS"):
    """A memory figure of a process from /proc (VmRSS now, VmHWM its
    peak), in KiB; 0 when the field is absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def is_mounted(path):
    """True while anything is mounted on path, a dead mount included
    (os.path.ismount cannot stat a dead FUSE mount)."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def unmount_all(path):
    """Lazily unmounts whatever is stacked on path, dead mounts included."""
    for _ in range(5):
        if not is_mounted(path):
            return
        subprocess.run(["fusermount3", "-u", "-z", path], capture_output=True)


def bad_lines(text):
    return [line for line in text.splitlines()
            if BAD_OUTPUT.search(line) and not HARMLESS.search(line)]


def errno_of(fn, *args):
    """The errno that fn(*args) fails with, or 0 when it succeeds."""
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def write_close(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    """Writes and closes by hand, returning close()'s errno (0 if none)."""
    fd = os.open(path, flags)
    os.write(fd, data)
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    return 0


class MountError(AssertionError):
    pass


class Mount:
    """A catsyncfs mount of `emu` on a fresh temporary folder.

    `options` are -o options ("cache_ttl=5"); `env` overrides the
    environment (the token comes from CLOUDFLARE_API_TOKEN unless given).
    """

    def __init__(self, emu, *options, env=None, token=None, accounts=None,
                 args=(), timeout=15.0, wrapper=None):
        self.emu = emu
        self.token = emu.token if token is None else token
        self.dir = tempfile.mkdtemp(prefix="catsyncfs-mnt-")
        self.log_file = tempfile.NamedTemporaryFile(prefix="catsyncfs-log-",
                                                    delete=False)
        opts = [f"api_url={emu.base_url}", *options]
        if accounts is not None:
            opts.append("account=" + ":".join(accounts))
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith("CLOUDFLARE_")}
        environment["CLOUDFLARE_API_TOKEN"] = self.token
        environment["XDG_STATE_HOME"] = STATE_HOME
        environment.update(env or {})
        if wrapper is None:
            wrapper = shlex.split(os.environ.get("CATSYNCFS_WRAPPER", ""))
        self.cmd = [*wrapper, daemon_binary(), "-f", "-d", "-o", ",".join(opts),
                    *args, self.dir]
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     env=environment)
        try:
            self.wait_for_mount(timeout)
        except BaseException:
            self.cleanup()
            raise

    def wait_for_mount(self, timeout):
        """Waits until the folder is a mount point; fails fast if the
        daemon dies first."""
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.dir):
            if self.proc.poll() is not None:
                raise MountError(f"catsyncfs exited {self.proc.returncode} before "
                                 f"mounting:\n{self.log()}")
            if time.monotonic() > deadline:
                raise MountError(f"not mounted after {timeout} s:\n{self.log()}")
            time.sleep(0.02)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def drop_cache(self):
        """kill -USR1: forget every listing at once."""
        self.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.05)

    def unmount(self):
        """fusermount3 -u, then the daemon must exit 0 with a clean log."""
        if os.path.ismount(self.dir):
            subprocess.run(["fusermount3", "-u", self.dir], check=True)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise MountError(f"catsyncfs did not exit after unmount:\n{self.log()}")
        text = self.log()
        if code != 0:
            raise MountError(f"catsyncfs exited {code}:\n{text}")
        bad = bad_lines(text)
        if bad:
            raise MountError("catsyncfs reported:\n" + "\n".join(bad[:20]))
        if self.token and self.token in text:
            raise MountError("the token appears in catsyncfs's log")

    def cleanup(self):
        """Never leaves a mount behind, whatever happened."""
        unmount_all(self.dir)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.rmdir(self.dir)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.unmount()
        finally:
            self.cleanup()
            os.unlink(self.log_file.name)


def run_mount_command(emu, *options, env=None, token=None, timeout=30):
    """Runs catsyncfs expecting it NOT to mount (bad credentials and such).
    Returns (exit code, output, seconds taken); unmounts if it did mount."""
    mnt = tempfile.mkdtemp(prefix="catsyncfs-mnt-")
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("CLOUDFLARE_")}
    if token is not None:
        environment["CLOUDFLARE_API_TOKEN"] = token
    environment["XDG_STATE_HOME"] = STATE_HOME
    environment.update(env or {})
    opts = [f"api_url={emu.base_url}" if emu else None, *options]
    opts = [o for o in opts if o]
    cmd = [daemon_binary(), "-o", ",".join(opts), mnt] if opts else \
        [daemon_binary(), mnt]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, env=environment)
        return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started
    finally:
        unmount_all(mnt)
        os.rmdir(mnt)
