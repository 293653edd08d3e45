"""A short scenario with the daemon under valgrind's memcheck: reads,
writes, a refresh, mkdir/rmdir, a scratch file, a fault.  valgrind exits
99 on any memory error or definite leak, which unmount() reports."""

import os
import shutil
import subprocess

import pytest

from emulator import ACCOUNT_1
from mount import Mount

pytestmark = [
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
    pytest.mark.skipif(bool(os.environ.get("CATSYNCFS_SANITIZED")),
                       reason="an ASan build cannot run under valgrind"),
]

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite"]


def test_scenario_under_memcheck(emulator):
    with Mount(emulator, "cache_ttl=1", wrapper=VALGRIND, timeout=60) as m:
        acct = m.path(ACCOUNT_1)
        subprocess.run(["grep", "-r", "tag:", acct], check=True, capture_output=True)
        with open(os.path.join(acct, "prod-vpcs", "description"), "w") as f:
            f.write("under valgrind\n")
        with open(os.path.join(acct, "prod-vpcs", "refresh"), "w") as f:
            f.write("1\n")
        os.mkdir(os.path.join(acct, "vg-made"))
        with open(os.path.join(acct, "vg-made", "notes"), "w") as f:
            f.write("scratch\n")
        os.rename(os.path.join(acct, "vg-made", "notes"),
                  os.path.join(acct, "vg-made", "policy"))
        os.rmdir(os.path.join(acct, "vg-made"))
        emulator.fault("GET", r"/catalog-syncs$", action="malformed", count=3)
        m.drop_cache()
        try:
            os.listdir(acct)
        except OSError:
            pass
        emulator.clear_faults()
        assert emulator.sync("prod-vpcs")["description"] == "under valgrind"
