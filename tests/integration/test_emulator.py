"""Tests of catsyncfs-emulator itself: one or more per rule it emulates.

The rules are in src/emulator/README.md; the daemon's tests rely on them, so
every one is pinned here through the Emulator helper (tests/integration/
emulator.py).
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

from emulator import (ACCOUNT_1, ACCOUNT_2, Emulator, emulator_binary,
                      syncs_path)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
RAY_RE = re.compile(r"^[0-9a-f]{16}-EMU$")
SYNC_KEYS = ["id", "name", "description", "policy", "destination_type",
             "destination_id", "update_mode", "errors", "last_user_update_at"]
PROD_VPCS = "3b1f8a52-6c0e-4d7a-9f21-5e8b7c4d2a10"      # demo sync in ACCOUNT_1
UNKNOWN_SYNC = "00000000-0000-4000-8000-000000000000"
S = syncs_path()


def new_sync(**over):
    body = {"name": "new-sync", "destination_type": "NONE", "update_mode": "MANUAL"}
    body.update(over)
    return body


def error_of(body):
    assert body["success"] is False and body["result"] is None, body
    assert body["messages"] == []
    return body["errors"][0]


def assert_error(resp, status, code):
    got_status, _, body = resp
    assert got_status == status, body
    err = error_of(body)
    assert err["code"] == code, body
    assert isinstance(err["message"], str) and err["message"]
    return err


def parse_ts(value):
    assert TS_RE.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def assert_recent(value, seconds=10):
    age = (datetime.now(timezone.utc) - parse_ts(value)).total_seconds()
    assert -1 <= age <= seconds, value


def create(emu, **over):
    status, _, body = emu.request("POST", S, new_sync(**over))
    assert status == 201, body
    return body["result"]


# ------------------------------------------------------------ start and stop

def test_startup_prints_base_url_line(emulator):
    assert re.match(r"^http://127\.0\.0\.1:\d+/client/v4$", emulator.base_url)
    assert emulator.port != 0


def test_sigterm_and_sigint_exit_zero():
    emu = Emulator()
    emu.stop()                     # SIGTERM; asserts status 0
    emu = Emulator()
    emu.proc.send_signal(2)        # SIGINT
    assert emu.proc.wait(10) == 0


def test_help_and_version_exit_zero():
    out = subprocess.run([emulator_binary(), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--policy-bytes" in out.stdout
    out = subprocess.run([emulator_binary(), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("catsyncfs-emulator ")


@pytest.mark.parametrize("args", [["--port", "x"], ["--policy-bytes", "9:3"], ["--bogus"],
                                  ["--seed", "/nonexistent.json"], ["--listen", "nowhere"]])
def test_bad_command_line_exits_nonzero(args):
    out = subprocess.run([emulator_binary(), "--port", "0", *args], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode != 0 and out.stdout == ""
    assert "catsyncfs-emulator" in out.stderr


def test_custom_credentials_option():
    with Emulator(token="other-token", email="me@example.org", api_key="k2") as emu:
        assert emu.request("GET", "/accounts")[0] == 200
        assert emu.legacy_request("GET", "/accounts")[0] == 200
        assert_error(emu.request("GET", "/accounts", token="demo-token"), 403, 9109)


# ---------------------------------------------------------------- seeds

def test_demo_seed_contents(emulator):
    state = emulator.state()
    ids = [a["id"] for a in state["accounts"]]
    assert ids == [ACCOUNT_1, ACCOUNT_2]
    first, second = state["accounts"][0]["syncs"], state["accounts"][1]["syncs"]
    assert len(first) == 4 and len(second) == 2
    assert {s["update_mode"] for s in first} == {"AUTO", "MANUAL"}
    assert {s["destination_type"] for s in first} == {"NONE", "ZERO_TRUST_LIST"}
    text = "".join(s["policy"] for s in first)
    for word in ("aws_vpc", "aws_subnet", "azurerm_virtual_network", "google_compute_network"):
        assert word in text
    assert all(s["policy"].count("\n") > 3 for s in first + second)
    assert len(state["prebuilt_policies"]) >= 4


def test_empty_seed_has_no_accounts():
    with Emulator("--seed", "empty") as emu:
        status, _, body = emu.request("GET", "/accounts")
        assert status == 200 and body["result"] == []
        assert body["result_info"]["total_count"] == 0


def test_seed_file_fills_missing_sync_fields(tmp_path):
    seed = {"accounts": [
        {"id": "11111111111111111111111111111111", "name": "Seeded",
         "syncs": [{"name": "partial", "policy": "p {}"}]},
        {"id": "22222222222222222222222222222222", "name": "Locked", "forbidden": True},
    ], "prebuilt_policies": [{"policy_name": "only", "policy_description": "d",
                              "policy_string": "x", "applicable_destinations": ["NONE"]}]}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with Emulator("--seed", str(path)) as emu:
        sync = emu.syncs("11111111111111111111111111111111")[0]
        assert list(sync)[:len(SYNC_KEYS)] == SYNC_KEYS
        assert UUID_RE.match(sync["id"]) and UUID_RE.match(sync["destination_id"])
        assert sync["policy"] == "p {}" and sync["description"] == ""
        assert sync["errors"] == {}
        assert_recent(sync["last_user_update_at"])
        assert emu.state()["accounts"][1]["forbidden"] is True
        status, _, body = emu.request("GET", syncs_path("11111111111111111111111111111111",
                                                        suffix="/prebuilt-policies"))
        assert [p["policy_name"] for p in body["result"]] == ["only"]


def test_generated_syncs_10000_fast_with_spread_policy_sizes():
    started = time.monotonic()
    emu = Emulator("--syncs", "10000")
    startup = time.monotonic() - started
    try:
        assert startup < 1.0, f"--syncs 10000 took {startup:.2f} s to start"
        status, _, body = emu.request("GET", S, timeout=60)
        assert status == 200
        gen = [s for s in body["result"] if s["name"].startswith("sync-")]
        assert len(gen) == 10000
        assert gen[0]["name"] == "sync-00001" and gen[-1]["name"] == "sync-10000"
        sizes = [len(s["policy"].encode()) for s in gen]
        assert min(sizes) >= 500 and max(sizes) <= 4000
        assert min(sizes) < 600 and max(sizes) > 3900
        assert 2100 < sum(sizes) / len(sizes) < 2400          # uniform: mean ~2250
        assert all(re.search(r"tag:team-\d\d", s["policy"]) for s in gen)
        assert all(s["policy"].count("\n") > 5 for s in gen)
        assert len({s["id"] for s in gen}) == 10000
    finally:
        emu.stop()


def test_generated_syncs_are_deterministic_and_compile():
    with Emulator("--syncs", "20", "--seed", "empty") as a, \
         Emulator("--syncs", "20", "--seed", "empty") as b:
        pa, pb = a.syncs(), b.syncs()
        assert [(s["id"], s["policy"]) for s in pa] == [(s["id"], s["policy"]) for s in pb]
        # Writing a generated policy back must pass the compile check.
        for s in pa[:5]:
            status, _, body = a.request("PATCH", syncs_path(sync_id=s["id"]),
                                        {"policy": s["policy"]})
            assert status == 200, body


def test_policy_bytes_option_sets_exact_sizes():
    with Emulator("--seed", "empty", "--syncs", "30", "--policy-bytes", "1000:1000") as emu:
        assert {len(s["policy"].encode()) for s in emu.syncs()} == {1000}


# ------------------------------------------------------ envelope and headers

def test_headers_on_every_answer(emulator):
    emulator.fault("GET", "/prebuilt-policies$", status=503)
    answers = [
        emulator.request("GET", "/accounts"),
        emulator.request("GET", S, token=None),
        emulator.request("GET", S, token="wrong"),
        emulator.request("GET", "/nowhere"),
        emulator.request("PUT", S, {}),
        emulator.request("POST", S, new_sync(name="prod-vpcs")),
        emulator.request("POST", S, new_sync(policy="{")),
        emulator.request("GET", S + "/prebuilt-policies"),
        emulator.raw_request("GET", "/__emulator/state"),
    ]
    for status, headers, _ in answers:
        assert headers["Content-Type"] == "application/json", status
        assert RAY_RE.match(headers["cf-ray"]), headers["cf-ray"]
        assert headers["Ratelimit-Policy"] == '"default";q=1200;w=300'
        assert re.fullmatch(r'"default";r=\d+;t=\d+', headers["Ratelimit"])
        assert "X-RateLimit-Limit" not in headers
    assert {a[0] for a in answers} == {200, 400, 403, 404, 405, 409, 422, 503}


def test_success_envelope_shape(emulator):
    status, _, body = emulator.request("GET", S)
    assert status == 200
    assert list(body) == ["success", "errors", "messages", "result"]
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []


def test_ray_ids_differ(emulator):
    rays = {emulator.request("GET", "/accounts")[1]["cf-ray"] for _ in range(5)}
    assert len(rays) == 5


def test_sync_object_keys_order_and_timestamps(emulator):
    status, _, body = emulator.request("GET", syncs_path(sync_id=PROD_VPCS))
    sync = body["result"]
    assert list(sync) == SYNC_KEYS + ["last_attempted_update_at", "last_successful_update_at",
                                      "includes_discoveries_until"]
    for key in list(sync)[8:]:
        parse_ts(sync[key])


# ------------------------------------------------------------------ auth

def test_auth_bearer_token_accepted(emulator):
    assert emulator.request("GET", S)[0] == 200


def test_auth_legacy_email_and_key_accepted(emulator):
    assert emulator.legacy_request("GET", S)[0] == 200


def test_auth_missing_credentials_400_9106(emulator):
    err = assert_error(emulator.request("GET", S, token=None), 400, 9106)
    assert err["message"] == "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
    only_email = emulator.request("GET", S, token=None, headers={"X-Auth-Email": "demo@example.com"})
    assert_error(only_email, 400, 9106)


@pytest.mark.parametrize("value", ["demo-token", "Token demo-token", "Bearer", "Bearer ",
                                   "Bearer a b", "Basic ZGVtbw=="])
def test_auth_malformed_authorization_400_6003(emulator, value):
    resp = emulator.request("GET", S, token=None, headers={"Authorization": value})
    err = assert_error(resp, 400, 6003)
    assert err["message"] == "Invalid request headers"
    assert err["error_chain"] == [{"code": 6111,
                                   "message": "Invalid format for Authorization header"}]


def test_auth_wrong_token_403_9109(emulator):
    err = assert_error(emulator.request("GET", S, token="not-the-token"), 403, 9109)
    assert err["message"] == "Invalid access token"


def test_auth_wrong_legacy_key_403_10000(emulator):
    err = assert_error(emulator.legacy_request("GET", S, api_key="bad"), 403, 10000)
    assert err["message"] == "Authentication error"
    assert_error(emulator.legacy_request("GET", S, email="x@example.com"), 403, 10000)


def test_auth_applies_to_every_api_route(emulator):
    for method, path in [("GET", "/accounts"), ("GET", S), ("POST", S),
                         ("GET", S + "/prebuilt-policies"),
                         ("GET", syncs_path(sync_id=PROD_VPCS)),
                         ("DELETE", syncs_path(sync_id=PROD_VPCS)),
                         ("POST", syncs_path(sync_id=PROD_VPCS, suffix="/refresh"))]:
        assert_error(emulator.request(method, path, token=None), 400, 9106)
    assert len(emulator.syncs()) == 4


# -------------------------------------------------------------- accounts

def test_accounts_list_shape(emulator):
    status, _, body = emulator.request("GET", "/accounts")
    assert status == 200
    first = body["result"][0]
    assert list(first) == ["id", "name", "type", "settings", "created_on"]
    assert first["id"] == ACCOUNT_1 and first["type"] == "standard" and first["settings"] == {}
    parse_ts(first["created_on"])
    assert body["result_info"] == {"page": 1, "per_page": 20, "count": 2, "total_count": 2,
                                   "total_pages": 1}


def test_accounts_paging_and_empty_page_past_end(emulator):
    for i in range(12):
        emulator.add_account(f"{i:032x}", f"extra {i}")
    seen = []
    for page in (1, 2, 3):
        status, _, body = emulator.request("GET", f"/accounts?page={page}&per_page=5")
        assert status == 200
        seen += [a["id"] for a in body["result"]]
        assert body["result_info"] == {"page": page, "per_page": 5,
                                       "count": len(body["result"]),
                                       "total_count": 14, "total_pages": 3}
    assert len(seen) == len(set(seen)) == 14
    status, _, body = emulator.request("GET", "/accounts?page=4&per_page=5")
    assert status == 200 and body["result"] == [] and body["result_info"]["count"] == 0
    status, _, body = emulator.request("GET", "/accounts?page=999999")
    assert status == 200 and body["result"] == []


@pytest.mark.parametrize("query,param", [("per_page=4", "per_page"), ("per_page=51", "per_page"),
                                         ("per_page=abc", "per_page"), ("page=0", "page"),
                                         ("page=-1", "page"), ("page=1.5", "page"),
                                         ("page=", "page"), ("order=name", "order")])
def test_accounts_bad_paging_400(emulator, query, param):
    err = assert_error(emulator.request("GET", "/accounts?" + query), 400, 1004)
    assert err["source"] == {"parameter": param}


@pytest.mark.parametrize("per_page", [5, 50])
def test_accounts_per_page_bounds_accepted(emulator, per_page):
    status, _, body = emulator.request("GET", f"/accounts?per_page={per_page}")
    assert status == 200 and body["result_info"]["per_page"] == per_page


def test_accounts_list_includes_forbidden_accounts(emulator):
    emulator.add_account("c" * 32, "Locked", forbidden=True)
    _, _, body = emulator.request("GET", "/accounts")
    assert "c" * 32 in [a["id"] for a in body["result"]]


# ------------------------------------------------------- ids and routing

@pytest.mark.parametrize("account", ["0123456789ABCDEF0123456789ABCDEF", "0123", "x" * 32,
                                     "0123456789abcdef0123456789abcdef0"])
def test_bad_account_id_400_7003(emulator, account):
    err = assert_error(emulator.request("GET", syncs_path(account)), 400, 7003)
    assert err["message"].startswith("Could not route to /client/v4/accounts/")


def test_unknown_account_404_7003(emulator):
    assert_error(emulator.request("GET", syncs_path("a" * 32)), 404, 7003)
    assert_error(emulator.request("POST", syncs_path("a" * 32), new_sync()), 404, 7003)


def test_forbidden_account_403_10000_on_all_sync_routes(emulator):
    acct = "f" * 32
    emulator.add_account(acct, "Locked", forbidden=True)
    sync = emulator.insert_sync(acct, {"name": "hidden"})
    for method, path, body in [("GET", syncs_path(acct), None),
                               ("POST", syncs_path(acct), new_sync()),
                               ("GET", syncs_path(acct, suffix="/prebuilt-policies"), None),
                               ("GET", syncs_path(acct, sync["id"]), None),
                               ("PATCH", syncs_path(acct, sync["id"]), {"name": "x"}),
                               ("PUT", syncs_path(acct, sync["id"]), {"name": "x"}),
                               ("DELETE", syncs_path(acct, sync["id"]), None),
                               ("POST", syncs_path(acct, sync["id"], "/refresh"), None)]:
        err = assert_error(emulator.request(method, path, body), 403, 10000)
        assert err["message"] == "Authentication error"
    assert emulator.syncs(acct)[0]["name"] == "hidden"


@pytest.mark.parametrize("path", ["/nowhere", "/accounts/", "/accounts/" + ACCOUNT_1,
                                  S + "/", S + "/" + PROD_VPCS + "/refresh/now",
                                  S + "/" + PROD_VPCS + "/other",
                                  "/accounts/" + ACCOUNT_1 + "/magic/cloud/syncs", ""])
def test_unknown_route_404_7000(emulator, path):
    err = assert_error(emulator.request("GET", path), 404, 7000)
    assert err["message"] == "No route for that URI"


def test_path_outside_client_v4_404_7000(emulator):
    status, headers, raw = emulator.raw_request("GET", "/accounts",
                                                headers={"Authorization": "Bearer demo-token"})
    assert status == 404 and json.loads(raw)["errors"][0]["code"] == 7000


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/accounts", "GET"),
    ("PUT", S, "GET, POST"),
    ("POST", S + "/prebuilt-policies", "GET"),
    ("POST", syncs_path(sync_id=PROD_VPCS), "GET, PUT, PATCH, DELETE"),
    ("GET", syncs_path(sync_id=PROD_VPCS, suffix="/refresh"), "POST"),
])
def test_wrong_method_405_10405(emulator, method, path, allow):
    status, headers, body = emulator.request(method, path)
    assert status == 405 and error_of(body)["code"] == 10405
    assert headers["Allow"] == allow


@pytest.mark.parametrize("sync_id", ["not-a-uuid", "3b1f8a52-6c0e-4d7a-9f21-5e8b7c4d2a1",
                                     "3b1f8a526c0e4d7a9f215e8b7c4d2a10", "..", "%2e%2e"])
def test_sync_id_not_uuid_400_7003(emulator, sync_id):
    err = assert_error(emulator.request("GET", syncs_path(sync_id=sync_id)), 400, 7003)
    assert "Could not route to" in err["message"]


def test_unknown_sync_404_1002(emulator):
    for method, suffix, body in [("GET", "", None), ("PATCH", "", {"name": "x"}),
                                 ("PUT", "", {"name": "x"}), ("DELETE", "", None),
                                 ("POST", "/refresh", None)]:
        assert_error(emulator.request(method, syncs_path(sync_id=UNKNOWN_SYNC, suffix=suffix),
                                      body), 404, 1002)


def test_sync_id_lookup_ignores_case(emulator):
    status, _, body = emulator.request("GET", syncs_path(sync_id=PROD_VPCS.upper()))
    assert status == 200 and body["result"]["id"] == PROD_VPCS


# ----------------------------------------------------------------- create

def test_create_201_with_location_and_new_sync(emulator):
    status, headers, body = emulator.request("POST", S, new_sync(
        name="zt", destination_type="ZERO_TRUST_LIST", update_mode="AUTO",
        description="d", policy="package x\n\nallow { true }\n"))
    assert status == 201
    sync = body["result"]
    assert headers["Location"] == f"/client/v4{S}/{sync['id']}"
    assert list(sync) == SYNC_KEYS
    assert UUID_RE.match(sync["id"]) and UUID_RE.match(sync["destination_id"])
    assert (sync["name"], sync["description"], sync["destination_type"], sync["update_mode"]) == \
        ("zt", "d", "ZERO_TRUST_LIST", "AUTO")
    assert sync["errors"] == {}
    assert_recent(sync["last_user_update_at"])
    assert emulator.sync("zt") == sync


def test_create_defaults_description_and_policy_and_gives_none_a_uuid(emulator):
    sync = create(emulator, name="plain")
    assert sync["description"] == "" and sync["policy"] == ""
    assert sync["destination_type"] == "NONE" and UUID_RE.match(sync["destination_id"])
    other = create(emulator, name="plain2")
    assert other["id"] != sync["id"] and other["destination_id"] != sync["destination_id"]


@pytest.mark.parametrize("missing", ["name", "destination_type", "update_mode"])
def test_create_missing_required_field_400(emulator, missing):
    body = new_sync()
    del body[missing]
    err = assert_error(emulator.request("POST", S, body), 400, 1001)
    assert err["source"]["pointer"] == "/" + missing
    assert "documentation_url" in err


@pytest.mark.parametrize("field,value", [("name", 1), ("name", None), ("description", None),
                                         ("description", []), ("policy", {}),
                                         ("update_mode", True), ("destination_type", 0)])
def test_create_wrong_type_400(emulator, field, value):
    err = assert_error(emulator.request("POST", S, new_sync(**{field: value})), 400, 1001)
    assert err["source"]["pointer"] == "/" + field


@pytest.mark.parametrize("field,value", [("destination_type", "ZERO_TRUST"),
                                         ("destination_type", "none"),
                                         ("update_mode", "auto"), ("update_mode", "")])
def test_create_bad_enum_400(emulator, field, value):
    err = assert_error(emulator.request("POST", S, new_sync(**{field: value})), 400, 1001)
    assert err["source"]["pointer"] == "/" + field


@pytest.mark.parametrize("key", ["id", "errors", "destination_id", "Name", "a/b~c"])
def test_create_unknown_key_400(emulator, key):
    err = assert_error(emulator.request("POST", S, new_sync(**{key: "x"})), 400, 1001)
    assert err["source"]["pointer"] == "/" + key.replace("~", "~0").replace("/", "~1")


def test_create_empty_name_400(emulator):
    assert_error(emulator.request("POST", S, new_sync(name="")), 400, 1001)


@pytest.mark.parametrize("body", ["[]", "\"text\"", "1", "null"])
def test_create_non_object_body_400(emulator, body):
    resp = emulator.request("POST", S, body, headers={"Content-Type": "application/json"})
    err = assert_error(resp, 400, 1001)
    assert "object" in err["message"]


def test_create_duplicate_name_409_should_not_retry(emulator):
    status, headers, body = emulator.request("POST", S, new_sync(name="prod-vpcs"))
    assert status == 409 and error_of(body)["code"] == 1003
    assert headers["x-should-retry"] == "false"
    assert error_of(body)["source"]["pointer"] == "/name"
    assert len(emulator.syncs()) == 4


def test_create_same_name_in_other_account_allowed(emulator):
    status, _, _ = emulator.request("POST", syncs_path(ACCOUNT_2), new_sync(name="prod-vpcs"))
    assert status == 201


@pytest.mark.parametrize("policy,message", [
    ("allow {\n  x := [1, 2\n}\n", "unbalanced '}' at line 3"),
    ("a {\n\n  (b\n}", "unbalanced '}' at line 4"),
    ("a {\n b\n", "unbalanced '{' at line 1"),
    ("x ]", "unbalanced ']' at line 1"),
    ("p {\n q {\n  r(\n }\n}\n", "unbalanced '}' at line 4"),
])
def test_create_policy_that_does_not_compile_422(emulator, policy, message):
    # The message names the first bracket that cannot be matched.
    err = assert_error(emulator.request("POST", S, new_sync(policy=policy)), 422, 1012)
    assert err["message"] == "policy does not compile: " + message
    assert err["source"]["pointer"] == "/policy"
    assert len(emulator.syncs()) == 4


def test_policy_compile_reports_line_of_unclosed_brace(emulator):
    err = assert_error(emulator.request("POST", S, new_sync(policy="a\nb\nc {\n  d\n")), 422, 1012)
    assert err["message"] == "policy does not compile: unbalanced '{' at line 3"


@pytest.mark.parametrize("policy", [
    'msg := "unclosed { in a string"\n',
    "# a comment with { and (\nallow { true }\n",
    'x := "escaped \\" quote ]"\n',
    "f(x) := [y | y := x[_]] # trailing ) comment\n",
    "",
])
def test_policy_brackets_in_strings_and_comments_are_ignored(emulator, policy):
    assert emulator.request("POST", S, new_sync(policy=policy))[0] == 201


# ---------------------------------------------------------- read and list

def test_list_syncs_returns_array_without_result_info(emulator):
    status, _, body = emulator.request("GET", S)
    assert status == 200 and "result_info" not in body
    assert [s["name"] for s in body["result"]] == ["prod-vpcs", "eu-subnets", "azure-vnets",
                                                   "gcp-networks"]


def test_list_and_read_refuse_query_parameters(emulator):
    err = assert_error(emulator.request("GET", S + "?page=1"), 400, 1004)
    assert err["source"] == {"parameter": "page"}
    assert_error(emulator.request("GET", syncs_path(sync_id=PROD_VPCS) + "?x=1"), 400, 1004)


def test_read_sync(emulator):
    status, _, body = emulator.request("GET", syncs_path(sync_id=PROD_VPCS))
    assert status == 200 and body["result"] == emulator.sync("prod-vpcs")


def test_prebuilt_policies_route_matched_before_sync_id(emulator):
    status, _, body = emulator.request("GET", S + "/prebuilt-policies")
    assert status == 200 and len(body["result"]) >= 4
    for p in body["result"]:
        assert list(p) == ["policy_name", "policy_description", "policy_string",
                           "applicable_destinations"]
        assert set(p["applicable_destinations"]) <= {"NONE", "ZERO_TRUST_LIST"}


@pytest.mark.parametrize("dest", ["NONE", "ZERO_TRUST_LIST"])
def test_prebuilt_policies_destination_filter(emulator, dest):
    _, _, everything = emulator.request("GET", S + "/prebuilt-policies")
    status, _, body = emulator.request("GET", S + "/prebuilt-policies?destination_type=" + dest)
    assert status == 200
    want = [p for p in everything["result"] if dest in p["applicable_destinations"]]
    assert body["result"] == want and 0 < len(want) < len(everything["result"])


@pytest.mark.parametrize("query", ["destination_type=none", "destination_type=",
                                   "destination_type", "type=NONE"])
def test_prebuilt_policies_bad_query_400(emulator, query):
    assert_error(emulator.request("GET", S + "/prebuilt-policies?" + query), 400, 1004)


# ----------------------------------------------------------- PUT and PATCH

@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_given_fields_and_user_timestamp(emulator, method):
    before = emulator.sync("prod-vpcs")
    status, _, body = emulator.request(method, syncs_path(sync_id=PROD_VPCS),
                                       {"description": "new", "update_mode": "MANUAL",
                                        "policy": "p { q }"})
    assert status == 200
    after = body["result"]
    assert (after["description"], after["update_mode"], after["policy"]) == \
        ("new", "MANUAL", "p { q }")
    for key in ("id", "name", "destination_type", "destination_id",
                "last_attempted_update_at", "last_successful_update_at"):
        assert after[key] == before[key]
    assert parse_ts(after["last_user_update_at"]) > parse_ts(before["last_user_update_at"])
    assert_recent(after["last_user_update_at"])
    assert emulator.sync("prod-vpcs") == after


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_refuses_destination_type_and_changes_nothing(emulator, method):
    before = emulator.sync("prod-vpcs")
    resp = emulator.request(method, syncs_path(sync_id=PROD_VPCS),
                            {"name": "renamed", "destination_type": "NONE"})
    err = assert_error(resp, 400, 1001)
    assert err["source"]["pointer"] == "/destination_type"
    assert emulator.sync("prod-vpcs") == before


@pytest.mark.parametrize("body,pointer", [({"name": "ok", "id": "x"}, "/id"),
                                          ({"name": 5}, "/name"), ({"name": ""}, "/name"),
                                          ({"update_mode": "SOMETIMES"}, "/update_mode"),
                                          ({"description": None}, "/description")])
def test_update_validation_400_changes_nothing(emulator, body, pointer):
    before = emulator.sync("prod-vpcs")
    err = assert_error(emulator.request("PATCH", syncs_path(sync_id=PROD_VPCS), body), 400, 1001)
    assert err["source"]["pointer"] == pointer
    assert emulator.sync("prod-vpcs") == before


def test_update_rename_conflict_409(emulator):
    status, headers, body = emulator.request("PATCH", syncs_path(sync_id=PROD_VPCS),
                                             {"name": "eu-subnets", "description": "x"})
    assert status == 409 and error_of(body)["code"] == 1003
    assert headers["x-should-retry"] == "false"
    assert emulator.sync("prod-vpcs")["description"] != "x"


def test_update_rename_to_own_name_is_not_a_conflict(emulator):
    status, _, body = emulator.request("PUT", syncs_path(sync_id=PROD_VPCS), {"name": "prod-vpcs"})
    assert status == 200 and body["result"]["name"] == "prod-vpcs"


def test_update_policy_that_does_not_compile_422(emulator):
    before = emulator.sync("prod-vpcs")
    assert_error(emulator.request("PUT", syncs_path(sync_id=PROD_VPCS), {"policy": "x {"}), 422, 1012)
    assert emulator.sync("prod-vpcs") == before


def test_update_empty_object_only_touches_timestamp(emulator):
    before = emulator.sync("eu-subnets")
    status, _, body = emulator.request("PATCH", syncs_path(sync_id=before["id"]), {})
    assert status == 200
    after = dict(body["result"])
    assert after.pop("last_user_update_at") != before.pop("last_user_update_at")
    assert after == before


# ----------------------------------------------------------------- delete

def test_delete_returns_id_and_removes_sync(emulator):
    status, _, body = emulator.request("DELETE", syncs_path(sync_id=PROD_VPCS))
    assert status == 200 and body["result"] == {"id": PROD_VPCS}
    assert PROD_VPCS not in [s["id"] for s in emulator.syncs()]
    assert_error(emulator.request("GET", syncs_path(sync_id=PROD_VPCS)), 404, 1002)


@pytest.mark.parametrize("value", ["true", "false"])
def test_delete_destination_values_accepted_and_logged(emulator, value):
    status, _, _ = emulator.request("DELETE", syncs_path(sync_id=PROD_VPCS),
                                    query={"delete_destination": value})
    assert status == 200
    [entry] = emulator.api_calls("DELETE")
    assert entry["query"] == "delete_destination=" + value


@pytest.mark.parametrize("query,param", [("delete_destination=yes", "delete_destination"),
                                         ("delete_destination=", "delete_destination"),
                                         ("delete_destination", "delete_destination"),
                                         ("delete_destination=TRUE", "delete_destination"),
                                         ("force=true", "force")])
def test_delete_bad_query_400_keeps_sync(emulator, query, param):
    err = assert_error(emulator.request("DELETE", syncs_path(sync_id=PROD_VPCS) + "?" + query),
                       400, 1004)
    assert err["source"] == {"parameter": param}
    assert emulator.sync("prod-vpcs")


# ---------------------------------------------------------------- refresh

def test_refresh_result_is_deterministic_string(emulator):
    path = syncs_path(sync_id=PROD_VPCS, suffix="/refresh")
    status, _, body = emulator.request("POST", path)
    assert status == 200 and isinstance(body["result"], str)
    summary = json.loads(body["result"])
    assert summary["sync_id"] == PROD_VPCS and summary["resource_types"] == ["aws_vpc"]
    assert emulator.request("POST", path)[2]["result"] == body["result"]


def test_refresh_sets_run_timestamps_not_user_timestamp(emulator):
    before = emulator.sync("azure-vnets")          # never refreshed in the demo seed
    assert "last_attempted_update_at" not in before
    status, _, _ = emulator.request("POST", syncs_path(sync_id=before["id"], suffix="/refresh"))
    assert status == 200
    after = emulator.sync("azure-vnets")
    assert after["last_user_update_at"] == before["last_user_update_at"]
    stamps = {after[k] for k in ("last_attempted_update_at", "last_successful_update_at",
                                 "includes_discoveries_until")}
    assert len(stamps) == 1
    assert_recent(stamps.pop())
    assert list(after) == SYNC_KEYS + ["last_attempted_update_at", "last_successful_update_at",
                                       "includes_discoveries_until"]


def test_refresh_clears_sync_errors(emulator):
    sync = emulator.sync("gcp-networks")
    assert sync["errors"] != {}
    emulator.request("POST", syncs_path(sync_id=sync["id"], suffix="/refresh"))
    assert emulator.sync("gcp-networks")["errors"] == {}


@pytest.mark.parametrize("body,ctype", [("{}", "application/json"), ("x", None),
                                        ('{"force":true}', "application/json")])
def test_refresh_with_body_400(emulator, body, ctype):
    before = emulator.sync("prod-vpcs")
    resp = emulator.request("POST", syncs_path(sync_id=PROD_VPCS, suffix="/refresh"), body,
                            headers={"Content-Type": ctype})
    assert_error(resp, 400, 1005)
    assert emulator.sync("prod-vpcs") == before


def test_refresh_with_content_type_but_no_body_accepted(emulator):
    resp = emulator.request("POST", syncs_path(sync_id=PROD_VPCS, suffix="/refresh"),
                            headers={"Content-Type": "application/json"})
    assert resp[0] == 200


# -------------------------------------------------------------- body rules

@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonx", "json"])
def test_body_without_json_content_type_400(emulator, ctype):
    resp = emulator.request("POST", S, json.dumps(new_sync()), headers={"Content-Type": ctype})
    err = assert_error(resp, 400, 6003)
    assert err["error_chain"][0]["code"] == 6105
    assert len(emulator.syncs()) == 4


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "Application/JSON",
                                   "application/json ;charset=UTF-8"])
def test_body_json_content_type_with_parameters_accepted(emulator, ctype):
    resp = emulator.request("POST", S, json.dumps(new_sync()), headers={"Content-Type": ctype})
    assert resp[0] == 201


@pytest.mark.parametrize("raw", [b"{", b"{\"name\": }", b"{} x", b"", b"{'name': 'x'}",
                                 b"{\"name\": \"\xff\"}", b"{\"name\": \"a\x00\"}"])
def test_malformed_json_400_6007(emulator, raw):
    resp = emulator.request("POST", S, raw, headers={"Content-Type": "application/json"})
    err = assert_error(resp, 400, 6007)
    assert err["message"] == "Malformed JSON in request body"


def test_body_over_1_mib_413(emulator):
    body = json.dumps(new_sync(policy="#" * (1024 * 1024)))
    status, headers, resp = emulator.request("POST", S, body,
                                             headers={"Content-Type": "application/json"})
    assert status == 413 and error_of(resp)["code"] == 10413
    [entry] = emulator.api_calls("POST")
    assert entry["status"] == 413 and entry["body"] is None


def test_body_of_exactly_1_mib_accepted(emulator):
    body = json.dumps(new_sync(policy=""))
    body = body[:-1] + ', "description": "' + "d" * (1024 * 1024 - len(body) - 19) + '"}'
    assert len(body) == 1024 * 1024
    assert emulator.request("POST", S, body, headers={"Content-Type": "application/json"})[0] == 201


@pytest.mark.parametrize("method,path", [("GET", S), ("DELETE", syncs_path(sync_id=PROD_VPCS)),
                                         ("GET", "/accounts")])
def test_body_on_bodiless_request_400(emulator, method, path):
    resp = emulator.request(method, path, {"x": 1})
    assert_error(resp, 400, 1005)
    assert emulator.sync("prod-vpcs")


# ------------------------------------------------------------ rate limit

def test_rate_limit_answers_429_971_with_retry_after():
    with Emulator("--rate-limit", "--rate-limit-max", "5") as emu:
        remaining = []
        for _ in range(5):
            status, headers, _ = emu.request("GET", "/accounts")
            assert status == 200
            remaining.append(headers["Ratelimit"])
        assert remaining == [f'"default";r={n};t=300' for n in (4, 3, 2, 1, 0)]
        status, headers, body = emu.request("GET", S)
        assert status == 429 and error_of(body)["code"] == 971
        assert 1 <= int(headers["Retry-After"]) <= 300
        assert headers["Ratelimit-Policy"] == '"default";q=5;w=300'
        assert re.fullmatch(r'"default";r=0;t=\d+', headers["Ratelimit"])
        # The limit is global and covers every API call, including bad ones.
        assert emu.request("GET", "/nowhere", token=None)[0] == 429
        # The control API is never limited and 429s are logged.
        assert [e["status"] for e in emu.log()] == [200] * 5 + [429, 429]


def test_rate_limit_default_1200_per_window():
    with Emulator("--rate-limit") as emu:
        conn = http.client.HTTPConnection(emu.host, emu.port, timeout=30)
        statuses = []
        for _ in range(1201):
            conn.request("GET", "/client/v4/accounts",
                         headers={"Authorization": "Bearer demo-token"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        conn.close()
        assert statuses[:1200] == [200] * 1200 and statuses[1200] == 429


def test_rate_limit_off_by_default_still_counts(emulator):
    for _ in range(3):
        status, headers, _ = emulator.request("GET", "/accounts")
        assert status == 200
    assert headers["Ratelimit"] == '"default";r=1197;t=300'


def test_rate_limit_switched_by_config(emulator):
    emulator.config(rate_limit=True, rate_limit_max=2)
    assert [emulator.request("GET", "/accounts")[0] for _ in range(3)] == [200, 200, 429]
    emulator.config(rate_limit=False)
    assert emulator.request("GET", "/accounts")[0] == 200


# ---------------------------------------------------------------- latency

def test_latency_option_delays_api_not_control():
    with Emulator("--latency-ms", "300") as emu:
        started = time.monotonic()
        assert emu.request("GET", "/accounts")[0] == 200
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        emu.state()
        assert time.monotonic() - started < 0.25


def test_latency_set_by_config(emulator):
    assert emulator.config(latency_ms=250)["latency_ms"] == 250
    started = time.monotonic()
    emulator.request("GET", S, token="bad")
    assert time.monotonic() - started >= 0.25


# ----------------------------------------------------------------- faults

def test_fault_status_with_retry_headers(emulator):
    emulator.fault("GET", "/catalog-syncs$", status=503, retry_after="2", retry_after_ms="1500",
                   should_retry="true", headers={"X-Extra": "yes"})
    status, headers, body = emulator.request("GET", S)
    assert status == 503 and error_of(body)["code"]
    assert headers["Retry-After"] == "2" and headers["retry-after-ms"] == "1500"
    assert headers["x-should-retry"] == "true" and headers["X-Extra"] == "yes"
    assert RAY_RE.match(headers["cf-ray"])
    assert emulator.request("GET", S)[0] == 200          # count defaults to 1


def test_fault_status_429_uses_code_971(emulator):
    emulator.fault("*", ".*", status=429, retry_after=1)
    assert_error(emulator.request("GET", S), 429, 971)


def test_fault_default_action_is_status_500(emulator):
    emulator.control("POST", "/faults", {"path": "^/accounts$"})
    assert emulator.request("GET", "/accounts")[0] == 500


def test_fault_count_order_and_method(emulator):
    emulator.fault("POST", ".*", status=502, count=1)
    emulator.fault("GET", "/catalog-syncs$", status=500, count=2)
    emulator.fault("GET", "/catalog-syncs$", status=504, count=1)
    assert [emulator.request("GET", S)[0] for _ in range(4)] == [500, 500, 504, 200]
    assert emulator.request("POST", S, new_sync())[0] == 502
    assert emulator.request("POST", S, new_sync())[0] == 201
    assert emulator.faults() == []


def test_fault_forever_until_cleared(emulator):
    emulator.fault("*", "^/accounts$", status=500, count=-1)
    assert [emulator.request("GET", "/accounts")[0] for _ in range(5)] == [500] * 5
    assert emulator.request("GET", S)[0] == 200
    emulator.clear_faults()
    assert emulator.request("GET", "/accounts")[0] == 200


def test_fault_matched_before_auth_and_logged(emulator):
    emulator.fault("GET", "^/accounts$", status=500)
    assert emulator.request("GET", "/accounts", token=None)[0] == 500
    [entry] = emulator.log()
    assert entry["status"] == 500 and entry["auth"] == "none"


def test_fault_hang_then_normal_answer_without_blocking_others(emulator):
    emulator.fault("GET", "/refresh|catalog-syncs$", action="hang", seconds=1.5)
    result = {}

    def slow():
        started = time.monotonic()
        result["status"] = emulator.request("GET", S)[0]
        result["took"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert emulator.request("GET", "/accounts")[0] == 200
    assert time.monotonic() - started < 0.5
    thread.join(10)
    assert result["status"] == 200 and result["took"] >= 1.4


def test_fault_hang_with_status(emulator):
    emulator.fault("GET", "/catalog-syncs$", action="hang", seconds=0.5, status=504)
    started = time.monotonic()
    assert emulator.request("GET", S)[0] == 504
    assert time.monotonic() - started >= 0.5


def test_fault_hang_does_not_delay_shutdown():
    emu = Emulator()
    emu.fault("GET", ".*", action="hang", seconds=600)
    thread = threading.Thread(target=lambda: _swallow(emu.request, "GET", S, timeout=30))
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 5
    thread.join(10)


def _swallow(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except (OSError, http.client.HTTPException):
        pass


def test_fault_reset_drops_connection_mid_body(emulator):
    emulator.fault("GET", "/catalog-syncs$", action="reset")
    conn = http.client.HTTPConnection(emulator.host, emulator.port, timeout=10)
    conn.request("GET", "/client/v4" + S, headers={"Authorization": "Bearer demo-token"})
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        resp.read()
    conn.close()
    [entry] = emulator.log()
    assert entry["status"] == 0
    assert emulator.request("GET", S)[0] == 200


def test_fault_malformed_json(emulator):
    emulator.fault("GET", "/catalog-syncs$", action="malformed")
    status, headers, raw = emulator.raw_request("GET", "/client/v4" + S,
                                                headers={"Authorization": "Bearer demo-token"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert raw.startswith(b'{"success":true')
    with pytest.raises(ValueError):
        json.loads(raw)


def test_fault_huge_body(emulator):
    emulator.fault("GET", "/catalog-syncs$", action="huge", bytes=5_000_000)
    status, headers, raw = emulator.raw_request("GET", "/client/v4" + S,
                                                headers={"Authorization": "Bearer demo-token"})
    assert status == 200 and len(raw) == 5_000_000
    assert headers["Content-Length"] == "5000000"
    assert raw.startswith(b'{"success":true,"errors":[],"messages":[],"result":[{"id"')
    with pytest.raises(ValueError):
        json.loads(raw)


def test_fault_raw_body(emulator):
    emulator.fault("GET", "/catalog-syncs$", action="body", body='{"success":true,"result":7}')
    emulator.fault("GET", "/catalog-syncs$", action="body", status=502, body="<html>bad gateway")
    status, _, body = emulator.request("GET", S)
    assert status == 200 and body == {"success": True, "result": 7}
    status, headers, body = emulator.request("GET", S)
    assert status == 502 and body == "<html>bad gateway"


@pytest.mark.parametrize("spec", [{"path": "("}, {"action": "explode"}, {"count": 0},
                                  {"status": 42}, {"seconds": "long"}, {"headers": {"A": 1}},
                                  {"headers": {"Bad:Name": "x"}}, []])
def test_fault_bad_spec_400(emulator, spec):
    status, _, raw = emulator.raw_request("POST", "/__emulator/faults", json.dumps(spec).encode(),
                                          {"Content-Type": "application/json"})
    assert status == 400 and "error" in json.loads(raw)
    assert emulator.faults() == []


# ---------------------------------------------------------- control API

def test_control_state_shape(emulator):
    state = emulator.state()
    assert list(state) == ["accounts", "prebuilt_policies"]
    assert list(state["accounts"][0]) == ["id", "name", "forbidden", "syncs"]


def test_control_calls_need_no_auth_and_are_not_logged(emulator):
    emulator.state()
    emulator.faults()
    emulator.config()
    emulator.set_sync(ACCOUNT_1, PROD_VPCS, description="x")
    assert emulator.log() == []


def test_control_set_sync_without_validation(emulator):
    changed = emulator.set_sync(ACCOUNT_1, PROD_VPCS, name="a/b: ..", update_mode="WEIRD",
                                policy="{{{", description=42)
    assert changed["name"] == "a/b: .." and changed["description"] == 42
    assert_recent(changed["last_user_update_at"])
    status, _, body = emulator.request("GET", syncs_path(sync_id=PROD_VPCS))
    assert status == 200 and body["result"] == changed
    kept = emulator.set_sync(ACCOUNT_1, PROD_VPCS, last_user_update_at="2020-01-01T00:00:00.000000Z")
    assert kept["last_user_update_at"] == "2020-01-01T00:00:00.000000Z"
    assert list(kept)[:len(SYNC_KEYS)] == SYNC_KEYS


def test_control_insert_sync_fills_fields_and_allows_duplicates(emulator):
    one = emulator.insert_sync(ACCOUNT_1, {"name": "prod-vpcs"})
    two = emulator.insert_sync(ACCOUNT_1, {"name": "prod-vpcs", "id": "not-a-uuid", "extra": 1})
    assert UUID_RE.match(one["id"]) and UUID_RE.match(one["destination_id"])
    assert list(one) == SYNC_KEYS
    assert two["id"] == "not-a-uuid" and list(two)[-1] == "extra"
    names = [s["name"] for s in emulator.request("GET", S)[2]["result"]]
    assert names.count("prod-vpcs") == 3


def test_control_delete_sync_direct(emulator):
    weird = emulator.insert_sync(ACCOUNT_1, {"name": "x", "id": "odd/id"})
    emulator.delete_sync_direct(ACCOUNT_1, weird["id"])
    emulator.delete_sync_direct(ACCOUNT_1, PROD_VPCS)
    assert [s["name"] for s in emulator.syncs()] == ["eu-subnets", "azure-vnets", "gcp-networks"]
    with pytest.raises(AssertionError):
        emulator.delete_sync_direct(ACCOUNT_1, PROD_VPCS)


def test_control_add_account(emulator):
    emulator.add_account("d" * 32, "Dee")
    assert emulator.request("GET", syncs_path("d" * 32))[2]["result"] == []
    with pytest.raises(AssertionError):
        emulator.add_account("d" * 32, "again")
    assert emulator.state()["accounts"][-1] == {"id": "d" * 32, "name": "Dee",
                                                "forbidden": False, "syncs": []}


def test_control_reset_named_seeds_and_documents(emulator):
    emulator.request("DELETE", syncs_path(sync_id=PROD_VPCS))
    assert len(emulator.reset("demo")["accounts"][0]["syncs"]) == 4
    assert emulator.reset("empty")["accounts"] == []
    state = emulator.reset("empty", syncs=7)
    assert [s["name"] for s in state["accounts"][0]["syncs"]][-1] == "sync-00007"
    doc = {"accounts": [{"id": "e" * 32, "name": "E", "syncs": [{"name": "only"}]}]}
    state = emulator.reset(doc)
    assert state["accounts"][0]["syncs"][0]["name"] == "only"
    assert state["prebuilt_policies"] == []
    status, _, raw = emulator.raw_request("POST", "/__emulator/reset", b'{"seed":"/no/such.json"}')
    assert status == 400
    assert emulator.state()["accounts"][0]["id"] == "e" * 32


def test_control_config_get_and_put(emulator):
    assert emulator.control("GET", "/config") == {"latency_ms": 0, "rate_limit": False,
                                                 "rate_limit_max": 1200,
                                                 "rate_limit_window_s": 300}
    assert emulator.config(latency_ms=5, rate_limit=True)["rate_limit"] is True
    with pytest.raises(AssertionError):
        emulator.config(latency_ms=-1)


def test_control_unknown_route_404(emulator):
    status, _, raw = emulator.raw_request("GET", "/__emulator/nothing")
    assert status == 404 and "error" in json.loads(raw)


# ------------------------------------------------------------ request log

def test_log_entry_fields(emulator):
    body = json.dumps({"description": "logged"})
    emulator.request("PATCH", syncs_path(sync_id=PROD_VPCS), body,
                     headers={"Content-Type": "application/json; charset=utf-8"})
    emulator.legacy_request("GET", "/accounts", query={"page": "2", "per_page": "5"})
    emulator.request("GET", S, token=None)
    one, two, three = emulator.log()
    assert one == {"seq": one["seq"], "method": "PATCH", "path": syncs_path(sync_id=PROD_VPCS),
                   "query": "", "body": body, "content_type": "application/json; charset=utf-8",
                   "status": 200, "auth": "bearer", "t_ms": one["t_ms"]}
    assert one["t_ms"] <= two["t_ms"] <= three["t_ms"]
    assert two["query"] == "page=2&per_page=5" and two["auth"] == "legacy"
    assert two["body"] is None and two["content_type"] is None
    assert three["status"] == 400 and three["auth"] == "none"
    assert one["seq"] < two["seq"] < three["seq"]


def test_log_records_rejected_requests_with_status(emulator):
    emulator.request("GET", "/nowhere")
    emulator.request("POST", S, "not json", headers={"Content-Type": "application/json"})
    emulator.request("GET", syncs_path("bad"))
    assert [(e["path"], e["status"]) for e in emulator.log()] == [
        ("/nowhere", 404), (S, 400), (syncs_path("bad"), 400)]
    assert emulator.log()[1]["body"] == "not json"


def test_log_keeps_invalid_utf8_body_as_valid_json(emulator):
    emulator.request("POST", S, b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert emulator.log()[0]["body"] == "\ufffd\ufffd{"


def test_clear_log_keeps_sequence_rising(emulator):
    emulator.request("GET", S)
    last = emulator.log()[-1]["seq"]
    emulator.clear_log()
    assert emulator.log() == []
    emulator.request("GET", S)
    assert emulator.log()[0]["seq"] > last


def test_api_calls_filters_by_method_and_path(emulator):
    emulator.request("GET", S)
    emulator.request("GET", syncs_path(sync_id=PROD_VPCS))
    emulator.request("POST", syncs_path(sync_id=PROD_VPCS, suffix="/refresh"))
    assert len(emulator.api_calls()) == 3
    assert len(emulator.api_calls("GET")) == 2
    assert len(emulator.api_calls(path_regex=r"/refresh$")) == 1
    assert len(emulator.api_calls("GET", r"catalog-syncs$")) == 1


def test_log_file_option_appends_json_lines(tmp_path):
    path = tmp_path / "requests.jsonl"
    with Emulator("--log", str(path)) as emu:
        emu.request("GET", S)
        emu.request("DELETE", syncs_path(sync_id=PROD_VPCS), query={"delete_destination": "true"})
        in_memory = emu.log()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == in_memory and len(lines) == 2


# ------------------------------------------------------------ concurrency

def test_concurrent_creates_are_consistent(emulator):
    results = []

    def worker(i):
        results.append(emulator.request("POST", S, new_sync(name=f"c-{i % 10}"))[0])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [201] * 10 + [409] * 30
    assert len(emulator.syncs()) == 14


# ---------------------------------------------------------------- memory

@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
@pytest.mark.skipif(bool(os.environ.get("CATSYNCFS_SANITIZED")),
                    reason="an ASan build cannot run under valgrind (ASan checks it instead)")
def test_no_leaks_or_memory_errors_under_valgrind():
    emu = Emulator("--syncs", "50", wrapper=["valgrind", "--error-exitcode=99",
                                             "--leak-check=full", "--errors-for-leak-kinds=definite",
                                             "-q"], start_timeout=60)
    try:
        created = create(emu, name="vg", policy="p { q }")
        emu.request("PATCH", syncs_path(sync_id=created["id"]), {"name": "vg2"})
        emu.request("POST", syncs_path(sync_id=created["id"], suffix="/refresh"))
        emu.request("GET", "/accounts?per_page=5&page=1")
        emu.request("POST", S, b"{bad", headers={"Content-Type": "application/json"})
        emu.fault("GET", "/catalog-syncs$", action="huge", bytes=100000)
        _swallow(emu.request, "GET", S)
        emu.fault("GET", "/catalog-syncs$", action="reset")
        _swallow(emu.request, "GET", S)
        emu.set_sync(ACCOUNT_1, created["id"], extra=[1, 2])
        emu.reset("demo", syncs=5)
        emu.request("DELETE", syncs_path(sync_id=PROD_VPCS), query={"delete_destination": "true"})
        emu.log()
    finally:
        emu.stop(timeout=60)      # valgrind exits 99 on any error or definite leak
