"""Drive the emulator with Cloudflare's official TypeScript SDK.

tests/conformance/conformance.mjs runs every catalog-sync operation (and the
error and retry paths) through the npm package `cloudflare`, pinned in
tests/conformance/package.json. If the SDK is happy with every answer, the
emulator speaks the API the way Cloudflare does; see tests/conformance/README.md.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CONFORMANCE_DIR = Path(__file__).resolve().parents[1] / "conformance"
SCRIPT = CONFORMANCE_DIR / "conformance.mjs"

# The script needs ~2 s of deliberate waiting (retry back-offs, Retry-After: 1);
# anything near this limit means a request hung.
TIMEOUT_SECONDS = 120


def _failure_report(output: str) -> str:
    """Put the failed checks first, then the whole run, so the cause is visible."""
    failed = [line for line in output.splitlines() if line.startswith("FAIL ")]
    return "\n".join(["failed checks:", *failed, "", "full output:", output])


def test_sdk_conformance(emulator):
    if not (CONFORMANCE_DIR / "node_modules" / "cloudflare").is_dir():
        # CI installs it (tests/run-all.sh): there a missing SDK is a failure
        assert not os.environ.get("CI"), "tests/conformance/node_modules is missing"
        pytest.skip("tests/conformance/node_modules is missing: run `npm ci` in tests/conformance")
    # node_modules came from npm, so node should be there: its absence is an error.
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"

    args = [node, str(SCRIPT), emulator.base_url, emulator.token]
    # Legacy X-Auth-Email/X-Auth-Key credentials, when the emulator has them,
    # turn on the script's legacy-auth check.
    email, api_key = getattr(emulator, "email", None), getattr(emulator, "api_key", None)
    if email and api_key:
        args += [email, api_key]

    try:
        proc = subprocess.run(
            args,
            cwd=CONFORMANCE_DIR,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or b""
        if isinstance(partial, bytes):
            partial = partial.decode(errors="replace")
        pytest.fail(f"conformance.mjs did not finish in {TIMEOUT_SECONDS} s; output so far:\n{partial}")

    output = proc.stdout + (f"\nstderr:\n{proc.stderr}" if proc.stderr.strip() else "")
    assert proc.returncode == 0, _failure_report(output)
    # A clean exit must come from a complete run, not an early return.
    assert "checks, 0 failed" in proc.stdout, output
