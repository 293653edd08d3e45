"""Start and drive catsyncfs-emulator from tests (standard library only).

    emu = Emulator()                      # demo seed, free port on 127.0.0.1
    status, headers, body = emu.request("GET", "/accounts")
    emu.fault(method="GET", path="/catalog-syncs$", status=503, count=2)
    assert len(emu.api_calls("GET", r"/catalog-syncs$")) == 3
    emu.stop()                            # SIGTERM, asserts exit status 0

The binary is $CATSYNCFS_BUILD_DIR/src/emulator/catsyncfs-emulator, the build
directory defaulting to build/ under the repository root. src/emulator/README.md
documents the API rules, the control API and the log format used here.
"""

import http.client
import json
import os
import re
import select
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The demo seed's fixed accounts (src/emulator/demo_data.h).
ACCOUNT_1 = "0123456789abcdef0123456789abcdef"
ACCOUNT_2 = "fedcba9876543210fedcba9876543210"
DEFAULT_TOKEN = "demo-token"
DEFAULT_EMAIL = "demo@example.com"
DEFAULT_API_KEY = "demo-api-key"

_DEFAULT = object()


def emulator_binary():
    build = os.environ.get("CATSYNCFS_BUILD_DIR", "build")
    if not os.path.isabs(build):
        build = os.path.join(REPO_ROOT, build)
    return os.path.join(build, "src", "emulator", "catsyncfs-emulator")


def syncs_path(account=ACCOUNT_1, sync_id=None, suffix=""):
    """API path of an account's catalog syncs, or of one sync."""
    path = f"/accounts/{account}/magic/cloud/catalog-syncs"
    if sync_id is not None:
        path += f"/{sync_id}"
    return path + suffix


class EmulatorError(AssertionError):
    pass


class Emulator:
    """One running catsyncfs-emulator process.

    `args` are extra command-line arguments (e.g. "--syncs", "100");
    `wrapper` is a command prefix such as ["valgrind", "-q"].
    """

    def __init__(self, *args, token=DEFAULT_TOKEN, email=DEFAULT_EMAIL,
                 api_key=DEFAULT_API_KEY, wrapper=(), start_timeout=10.0):
        self.token = token
        self.email = email
        self.api_key = api_key
        self._stderr = tempfile.TemporaryFile()
        cmd = [*wrapper, emulator_binary(), "--listen", "127.0.0.1", "--port", "0",
               "--token", token, "--email", email, "--api-key", api_key, *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        try:
            self.base_url = self._read_url(start_timeout)
        except Exception:
            self.proc.kill()
            self.proc.wait()
            raise
        parsed = urllib.parse.urlsplit(self.base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.prefix = parsed.path            # "/client/v4"
        self.root_url = f"{parsed.scheme}://{parsed.netloc}"

    def _read_url(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise EmulatorError(f"emulator printed no URL in {timeout} s: {self.stderr_text()}")
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                raise EmulatorError(f"emulator exited ({self.proc.wait()}): {self.stderr_text()}")
            line += chunk
        return line.decode().strip()

    def stderr_text(self):
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    # ------------------------------------------------------------- raw HTTP

    def raw_request(self, method, target, body=None, headers=None, timeout=30):
        """Send exactly these headers (plus Host, Content-Length) to `target`
        (path and query from the server root). Returns (status, headers,
        bytes). Connection errors propagate."""
        if self.base_url.startswith("https:"):
            # the tests' own self-signed certificate (--tls-cert)
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout,
                context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                if value is not None:
                    conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        finally:
            conn.close()

    def request(self, method, path, body=None, headers=None, token=_DEFAULT,
                query=None, timeout=30):
        """Call the API at `path` (below /client/v4, may carry "?query").

        `body`: dict/list -> JSON with Content-Type: application/json; str or
        bytes -> sent as is, with no Content-Type unless `headers` has one.
        `token`: default the emulator's token; None sends no Authorization.
        A header given as None is left out. Returns (status, headers,
        parsed JSON, or the raw text/bytes when it is not JSON).
        """
        hdrs = {}
        if token is _DEFAULT:
            token = self.token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        data = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes):
            data = body
        hdrs.update(headers or {})
        target = self.prefix + path
        if query:
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query)
        status, rhdrs, raw = self.raw_request(method, target, data, hdrs, timeout)
        return status, rhdrs, _decode(raw)

    def legacy_request(self, method, path, email=None, api_key=None, **kw):
        """Like request() but with X-Auth-Email/X-Auth-Key credentials."""
        headers = dict(kw.pop("headers", None) or {})
        headers.setdefault("X-Auth-Email", self.email if email is None else email)
        headers.setdefault("X-Auth-Key", self.api_key if api_key is None else api_key)
        return self.request(method, path, headers=headers, token=None, **kw)

    # -------------------------------------------------------------- control

    def control(self, method, path, body=None, expect=None):
        """Call /__emulator`path`; raises unless the status is 2xx (or
        `expect`). Returns the parsed JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        status, _, raw = self.raw_request(method, "/__emulator" + path, data, hdrs)
        answer = _decode(raw)
        ok = status == expect if expect is not None else 200 <= status < 300
        if not ok:
            raise EmulatorError(f"control {method} {path} -> {status}: {answer}")
        return answer

    def state(self):
        return self.control("GET", "/state")

    def syncs(self, account=ACCOUNT_1):
        """The account's syncs straight from the state (no API call)."""
        for acct in self.state()["accounts"]:
            if acct["id"] == account:
                return acct["syncs"]
        raise KeyError(account)

    def sync(self, name, account=ACCOUNT_1):
        """One sync by name from the state (no API call)."""
        for s in self.syncs(account):
            if s.get("name") == name:
                return s
        raise KeyError(name)

    def log(self):
        return self.control("GET", "/log")

    def clear_log(self):
        self.control("DELETE", "/log")

    def api_calls(self, method=None, path_regex=None):
        """Logged API requests, optionally filtered by method and by a
        regex searched in the path (which lacks /client/v4)."""
        return [e for e in self.log()
                if (method is None or e["method"] == method)
                and (path_regex is None or re.search(path_regex, e["path"]))]

    def fault(self, method="*", path=".*", action="status", **kw):
        """Add a fault, e.g. fault("GET", "/refresh$", status=503, count=2,
        retry_after="1"); see the README for every field."""
        return self.control("POST", "/faults", {"method": method, "path": path,
                                                "action": action, **kw})

    def faults(self):
        return self.control("GET", "/faults")

    def clear_faults(self):
        self.control("DELETE", "/faults")

    def set_sync(self, account, sync_id, **fields):
        """Change a sync behind the API's back (no validation)."""
        return self.control("PATCH", f"/accounts/{account}/syncs/{_quote(sync_id)}", fields)

    def insert_sync(self, account, obj):
        """Insert a raw sync object (no validation; missing fields filled)."""
        return self.control("POST", f"/accounts/{account}/syncs", obj)

    def delete_sync_direct(self, account, sync_id):
        return self.control("DELETE", f"/accounts/{account}/syncs/{_quote(sync_id)}")

    def add_account(self, account_id, name=None, forbidden=False):
        body = {"id": account_id, "forbidden": forbidden}
        if name is not None:
            body["name"] = name
        return self.control("POST", "/accounts", body)

    def reset(self, seed="demo", syncs=None):
        """Replace the state: `seed` is "demo", "empty", a seed file path or
        a seed document (dict)."""
        body = dict(seed) if isinstance(seed, dict) else {"seed": seed}
        if syncs is not None:
            body["syncs"] = syncs
        return self.control("POST", "/reset", body)

    def config(self, **kw):
        """PUT /__emulator/config, e.g. config(latency_ms=200, rate_limit=True)."""
        return self.control("PUT", "/config", kw)

    # ------------------------------------------------------------ lifecycle

    def stop(self, timeout=10):
        """SIGTERM and wait; asserts a clean exit (status 0)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise EmulatorError(f"emulator ignored SIGTERM for {timeout} s")
        self.proc.stdout.close()
        code = self.proc.returncode
        assert code == 0, f"emulator exited with {code}: {self.stderr_text()}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _quote(segment):
    return urllib.parse.quote(str(segment), safe="")


def _decode(raw):
    try:
        return json.loads(raw)
    except ValueError:
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return raw
