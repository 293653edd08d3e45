#!/usr/bin/env node
// SDK conformance check for catsyncfs-emulator.
//
// Usage: node conformance.mjs BASE_URL [TOKEN [EMAIL API_KEY]]
//   BASE_URL  the emulator's API root, e.g. http://127.0.0.1:40123/client/v4
//   TOKEN     the API token it accepts (default: $CATSYNCFS_TOKEN or demo-token)
//   EMAIL, API_KEY  legacy X-Auth-Email/X-Auth-Key credentials it accepts;
//             the legacy-auth check runs only when they are given
//
// Cloudflare's official TypeScript SDK (npm "cloudflare", pinned in
// package.json) is the reference client here: every catalog-sync operation is
// driven through the SDK's own methods, so a pass means the emulator answers
// the way the SDK -- i.e. the real API -- is built to be answered: right
// status codes, right envelope, right result shapes, and error/retry signals
// that the SDK maps onto the documented error classes.
//
// The emulator's control API (/__emulator/...) is used only around the SDK:
// to reset the demo seed, inject faults and read the request log, which tells
// how many attempts the SDK really made.
//
// Output: one line per check, "ok NAME" or "FAIL NAME: detail", then a summary
// line starting with "#". Exit status is 0 only when every check passed.

import Cloudflare from 'cloudflare';

const SYNCS = 'magic/cloud/catalog-syncs';

// The fields CatalogSync*Response declares in the SDK: the first set is
// always present, the second may be.
const SYNC_REQUIRED = [
  'id', 'name', 'description', 'policy', 'destination_type',
  'destination_id', 'update_mode', 'last_user_update_at',
];
const SYNC_OPTIONAL = [
  'errors', 'last_attempted_update_at', 'last_successful_update_at',
  'includes_discoveries_until',
];
const SYNC_TIMESTAMPS = [
  'last_user_update_at', 'last_attempted_update_at',
  'last_successful_update_at', 'includes_discoveries_until',
];
const DESTINATION_TYPES = ['NONE', 'ZERO_TRUST_LIST'];
const UPDATE_MODES = ['AUTO', 'MANUAL'];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACCOUNT_ID_RE = /^[0-9a-f]{32}$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

// Smallest per_page the accounts endpoint accepts; small so that even a
// two-account seed makes the SDK walk past the first page.
const ACCOUNTS_PER_PAGE = 5;

// ---------------------------------------------------------------- plumbing

class CheckFailure extends Error {}

function fail(message) {
  throw new CheckFailure(message);
}

function expect(condition, message) {
  if (!condition) fail(message);
}

function show(value) {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 300 ? text.slice(0, 300) + '...' : text;
}

// Runs named checks in order. A failed check does not stop the run: later
// checks that need its outcome fail on their own with a clear reason.
class Runner {
  constructor() {
    this.results = [];
  }

  async check(name, fn) {
    try {
      await fn();
      this.results.push({ name, ok: true });
      console.log(`ok ${name}`);
    } catch (err) {
      const detail = describeError(err);
      this.results.push({ name, ok: false, detail });
      console.log(`FAIL ${name}: ${detail}`);
    }
  }

  get failures() {
    return this.results.filter((r) => !r.ok);
  }
}

function describeError(err) {
  if (err instanceof CheckFailure) return err.message;
  if (err instanceof Cloudflare.APIError) {
    return `unexpected ${err.constructor.name} (status ${err.status}): ${err.message}`;
  }
  return `unexpected ${err?.constructor?.name ?? 'error'}: ${err?.message ?? err}`;
}

// Awaits an SDK call that must fail, and returns the error it threw.
async function expectThrows(promise, ErrorClasses, what) {
  try {
    const value = await promise;
    fail(`${what} succeeded (${show(value)}), expected ${ErrorClasses.map((c) => c.name).join(' or ')}`);
  } catch (err) {
    if (err instanceof CheckFailure) throw err;
    if (!ErrorClasses.some((cls) => err instanceof cls)) {
      fail(`${what} threw ${describeError(err)}, expected ${ErrorClasses.map((c) => c.name).join(' or ')}`);
    }
    return err;
  }
}

// ------------------------------------------------- raw response recording

// The SDK unwraps `result` before handing it back, so to judge the envelope
// and headers Cloudflare sends we let the SDK use a fetch that keeps a copy of
// every answer. It passes requests through untouched, so the SDK's behaviour
// (headers, retries, parsing) is exactly what it would be with plain fetch.
function recordingFetch(sink) {
  return async (url, init) => {
    const response = await globalThis.fetch(url, init);
    const copy = response.clone();
    sink.push({
      method: (init?.method ?? 'GET').toUpperCase(),
      url: String(url),
      status: response.status,
      headers: response.headers,
      // Read now, judged later; a failed read becomes text that fails the JSON check.
      text: copy.text().catch((err) => `<unreadable body: ${err}>`),
    });
    return response;
  };
}

// ------------------------------------------------------- emulator control

class EmulatorControl {
  constructor(baseURL) {
    this.root = new URL(baseURL).origin + '/__emulator';
  }

  async call(method, path, body) {
    const response = await fetch(this.root + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`control ${method} ${path} -> ${response.status}: ${text}`);
    }
    return text ? JSON.parse(text) : null;
  }

  reset() {
    return this.call('POST', '/reset', { seed: 'demo' });
  }

  clearLog() {
    return this.call('DELETE', '/log');
  }

  async log() {
    const entries = await this.call('GET', '/log');
    expect(Array.isArray(entries), `control log is not an array: ${show(entries)}`);
    return entries;
  }

  addFault(fault) {
    return this.call('POST', '/faults', fault);
  }

  clearFaults() {
    return this.call('DELETE', '/faults');
  }
}

// The log records the query as a string or as an object; read both.
function logQuery(entry) {
  const q = entry.query;
  if (q == null || q === '') return new URLSearchParams();
  if (typeof q === 'string') return new URLSearchParams(q.replace(/^\?/, ''));
  return new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]));
}

// The log records the body as text or as parsed JSON; read both.
function logBody(entry) {
  if (entry.body == null || typeof entry.body === 'object') return entry.body;
  try {
    return JSON.parse(entry.body);
  } catch {
    return entry.body;
  }
}

function logPath(entry) {
  // Tolerate a log that keeps the /client/v4 prefix after all.
  return String(entry.path).replace(/^\/client\/v4/, '');
}

function requestsTo(entries, method, path) {
  return entries.filter((e) => e.method === method && logPath(e) === path);
}

// ------------------------------------------------------------ shape checks

function checkTimestamp(value, where) {
  expect(typeof value === 'string' && RFC3339_RE.test(value), `${where} is not an RFC 3339 timestamp: ${show(value)}`);
}

// Validates one sync object against CatalogSync*Response in the SDK.
function checkSyncShape(sync, where) {
  expect(sync && typeof sync === 'object' && !Array.isArray(sync), `${where}: not an object: ${show(sync)}`);
  const missing = SYNC_REQUIRED.filter((k) => !(k in sync));
  expect(missing.length === 0, `${where}: missing field(s) ${missing.join(', ')} in ${show(sync)}`);
  const unknown = Object.keys(sync).filter((k) => !SYNC_REQUIRED.includes(k) && !SYNC_OPTIONAL.includes(k));
  expect(unknown.length === 0, `${where}: field(s) the SDK does not know: ${unknown.join(', ')}`);

  for (const k of ['id', 'name', 'description', 'policy', 'destination_id']) {
    expect(typeof sync[k] === 'string', `${where}: ${k} is not a string: ${show(sync[k])}`);
  }
  expect(UUID_RE.test(sync.id), `${where}: id is not a UUID: ${show(sync.id)}`);
  expect(DESTINATION_TYPES.includes(sync.destination_type), `${where}: bad destination_type ${show(sync.destination_type)}`);
  expect(UPDATE_MODES.includes(sync.update_mode), `${where}: bad update_mode ${show(sync.update_mode)}`);
  for (const k of SYNC_TIMESTAMPS) {
    if (k === 'last_user_update_at' || sync[k] !== undefined) checkTimestamp(sync[k], `${where}: ${k}`);
  }
  if (sync.errors !== undefined) checkSyncErrors(sync.errors, where);
}

// `errors` on a sync is a map from a string key to {code, message, ...}.
function checkSyncErrors(errors, where) {
  expect(errors && typeof errors === 'object' && !Array.isArray(errors), `${where}: errors is not a map: ${show(errors)}`);
  for (const [key, e] of Object.entries(errors)) {
    expect(Number.isInteger(e?.code), `${where}: errors[${key}].code is not an integer: ${show(e)}`);
    expect(typeof e?.message === 'string', `${where}: errors[${key}].message is not a string: ${show(e)}`);
  }
}

function checkRoundTrip(sync, sent, where) {
  for (const [k, v] of Object.entries(sent)) {
    if (k === 'account_id') continue;
    expect(sync[k] === v, `${where}: ${k} came back as ${show(sync[k])}, sent ${show(v)}`);
  }
}

function checkAccountShape(account, where) {
  expect(typeof account?.id === 'string' && ACCOUNT_ID_RE.test(account.id), `${where}: id is not 32 hex digits: ${show(account?.id)}`);
  expect(typeof account.name === 'string', `${where}: name is not a string: ${show(account.name)}`);
  expect(['standard', 'enterprise'].includes(account.type), `${where}: type is not standard|enterprise: ${show(account.type)}`);
}

function checkPolicyShape(policy, where) {
  for (const k of ['policy_name', 'policy_description', 'policy_string']) {
    expect(typeof policy?.[k] === 'string', `${where}: ${k} is not a string: ${show(policy)}`);
  }
  expect(Array.isArray(policy.applicable_destinations), `${where}: applicable_destinations is not an array`);
  for (const d of policy.applicable_destinations) {
    expect(DESTINATION_TYPES.includes(d), `${where}: bad applicable destination ${show(d)}`);
  }
}

// Every answer is {success, errors, messages, result}; on success `success`
// is true and `errors` empty, on failure `result` is null with >= 1 error.
async function checkEnvelope(record) {
  const where = `${record.method} ${new URL(record.url).pathname} -> ${record.status}`;
  const type = record.headers.get('content-type') ?? '';
  expect(type.split(';')[0].trim() === 'application/json', `${where}: content-type ${show(type)}, not application/json`);
  let body;
  try {
    body = JSON.parse(await record.text);
  } catch {
    fail(`${where}: body is not JSON`);
  }
  for (const k of ['success', 'errors', 'messages', 'result']) {
    expect(body && k in body, `${where}: envelope lacks "${k}": ${show(body)}`);
  }
  expect(Array.isArray(body.errors) && Array.isArray(body.messages), `${where}: errors/messages are not arrays`);
  const ok = record.status >= 200 && record.status < 300;
  expect(body.success === ok, `${where}: success is ${show(body.success)}`);
  if (ok) {
    expect(body.errors.length === 0, `${where}: errors on a success: ${show(body.errors)}`);
  } else {
    expect(body.result === null, `${where}: result on a failure is ${show(body.result)}, not null`);
    expect(body.errors.length > 0, `${where}: a failure with no errors`);
    checkErrorList(body.errors, where);
  }
}

function checkErrorList(errors, where) {
  for (const e of errors) {
    expect(Number.isInteger(e?.code), `${where}: error code is not an integer: ${show(e)}`);
    expect(typeof e?.message === 'string', `${where}: error message is not a string: ${show(e)}`);
  }
}

// An SDK error carries the parsed error envelope: check it kept the errors.
function checkSdkErrorBody(err, where) {
  expect(Array.isArray(err.errors) && err.errors.length > 0, `${where}: SDK error carries no errors[]: ${err.message}`);
  checkErrorList(err.errors, where);
}

// ------------------------------------------------------------- the checks

function uniqueSuffix() {
  return `${process.pid}-${Date.now().toString(36)}`;
}

function syncPath(ctx, id) {
  return `/accounts/${ctx.accountId}/${SYNCS}` + (id ? `/${id}` : '');
}

function needSync(ctx, key) {
  const sync = ctx[key];
  if (!sync) fail(`no sync to work on (an earlier create failed)`);
  return sync;
}

async function checkAccountsPaging(ctx) {
  const { client, control } = ctx;
  await control.clearLog();
  const pages = [];
  const first = await client.accounts.list({ per_page: ACCOUNTS_PER_PAGE });
  for await (const page of first.iterPages()) pages.push(page);

  // The SDK ignores total_pages and stops at the first empty page.
  expect(pages.length >= 2, `the SDK walked ${pages.length} page(s); expected at least 2 (the last one empty)`);
  const items = pages.map((p) => p.getPaginatedItems());
  expect(items.at(-1).length === 0, `the SDK stopped on a non-empty page`);
  expect(items.slice(0, -1).every((it) => it.length > 0), `an empty page before the last one`);

  const accounts = items.flat();
  accounts.forEach((a, i) => checkAccountShape(a, `account[${i}]`));
  const ids = new Set(accounts.map((a) => a.id));
  expect(ids.size === accounts.length, `the same account came back on two pages`);

  const info = pages[0].result_info;
  for (const k of ['page', 'per_page', 'count', 'total_count', 'total_pages']) {
    expect(Number.isInteger(info?.[k]), `result_info.${k} is not an integer: ${show(info)}`);
  }
  expect(info.page === 1 && info.per_page === ACCOUNTS_PER_PAGE, `result_info page/per_page ${info.page}/${info.per_page}`);
  expect(info.count === items[0].length, `result_info.count ${info.count} but ${items[0].length} items`);
  expect(info.total_count === accounts.length, `result_info.total_count ${info.total_count} but ${accounts.length} accounts in all`);

  // Behind the SDK: one GET per page, page numbers 1 (implicit), 2, 3...
  const gets = requestsTo(await control.log(), 'GET', '/accounts');
  expect(gets.length === pages.length, `${gets.length} GET /accounts for ${pages.length} pages`);
  gets.forEach((g, i) => {
    const q = logQuery(g);
    expect(Number(q.get('page') ?? 1) === i + 1, `request ${i + 1} asked for page ${q.get('page')}`);
    expect(q.get('per_page') === String(ACCOUNTS_PER_PAGE), `request ${i + 1} per_page ${q.get('per_page')}`);
    expect(g.status === 200, `page ${i + 1} answered ${g.status}`);
  });

  ctx.accountId = accounts[0].id;
}

async function checkPrebuiltPolicies(ctx) {
  const page = await ctx.client.magicCloudNetworking.catalogSyncs.prebuiltPolicies.list({ account_id: ctx.accountId });
  expect(Array.isArray(page.body?.result), `result is not an array: ${show(page.body?.result)}`);
  const all = page.getPaginatedItems();
  expect(all.length > 0, `no prebuilt policies`);
  all.forEach((p, i) => checkPolicyShape(p, `policy[${i}]`));
  ctx.prebuilt = all;
}

async function checkPrebuiltPoliciesFiltered(ctx) {
  // The unfiltered list is the yardstick; without it this check proves nothing.
  if (!ctx.prebuilt) fail(`needs the unfiltered list (prebuiltPolicies.list failed)`);
  const api = ctx.client.magicCloudNetworking.catalogSyncs.prebuiltPolicies;
  for (const type of DESTINATION_TYPES) {
    const items = [];
    for await (const p of api.list({ account_id: ctx.accountId, destination_type: type })) items.push(p);
    items.forEach((p, i) => checkPolicyShape(p, `${type} policy[${i}]`));
    const wrong = items.filter((p) => !p.applicable_destinations.includes(type));
    expect(wrong.length === 0, `destination_type=${type} returned ${wrong.map((p) => p.policy_name).join(', ')}`);
    const expected = ctx.prebuilt.filter((p) => p.applicable_destinations.includes(type)).length;
    expect(items.length === expected, `destination_type=${type}: ${items.length} policies, unfiltered list has ${expected}`);
  }
}

async function checkListSyncs(ctx) {
  const page = await ctx.client.magicCloudNetworking.catalogSyncs.list({ account_id: ctx.accountId });
  expect(Array.isArray(page.body?.result), `result is not an array: ${show(page.body?.result)}`);
  const syncs = [];
  for await (const s of page) syncs.push(s);
  syncs.forEach((s, i) => checkSyncShape(s, `sync[${i}]`));
}

async function createSync(ctx, key, params) {
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  const { data, response } = await api.create({ account_id: ctx.accountId, ...params }).withResponse();
  expect(response.status === 201, `create answered ${response.status}, expected 201`);
  checkSyncShape(data, 'created sync');
  checkRoundTrip(data, params, 'created sync');
  const location = response.headers.get('location');
  expect(location, `no Location header on 201`);
  expect(location.endsWith(`/${SYNCS}/${data.id}`), `Location ${show(location)} does not name sync ${data.id}`);
  ctx[key] = data;
  ctx.created.push(data.id);
}

async function checkGet(ctx) {
  const created = needSync(ctx, 'zt');
  const got = await ctx.client.magicCloudNetworking.catalogSyncs.get(created.id, { account_id: ctx.accountId });
  checkSyncShape(got, 'read sync');
  for (const k of SYNC_REQUIRED) {
    expect(got[k] === created[k], `read ${k} ${show(got[k])} differs from created ${show(created[k])}`);
  }
}

async function checkListHasCreated(ctx) {
  const wanted = [needSync(ctx, 'zt'), needSync(ctx, 'none')];
  const seen = new Map();
  for await (const s of ctx.client.magicCloudNetworking.catalogSyncs.list({ account_id: ctx.accountId })) {
    seen.set(s.id, s);
  }
  for (const w of wanted) {
    expect(seen.has(w.id), `list lacks created sync ${w.id}`);
    expect(seen.get(w.id).name === w.name, `listed name ${show(seen.get(w.id).name)} != ${show(w.name)}`);
  }
}

async function checkUpdate(ctx) {
  const before = needSync(ctx, 'zt');
  const params = {
    description: `updated by PUT – ${ctx.suffix}`,
    policy: before.policy + '\n# revised',
    update_mode: before.update_mode === 'AUTO' ? 'MANUAL' : 'AUTO',
  };
  const after = await ctx.client.magicCloudNetworking.catalogSyncs.update(before.id, { account_id: ctx.accountId, ...params });
  checkSyncShape(after, 'updated sync');
  checkRoundTrip(after, params, 'updated sync');
  for (const k of ['id', 'name', 'destination_type', 'destination_id']) {
    expect(after[k] === before[k], `PUT changed ${k}: ${show(before[k])} -> ${show(after[k])}`);
  }
  ctx.zt = after;
}

async function checkEdit(ctx) {
  const before = needSync(ctx, 'zt');
  const params = { name: `${before.name}-renamed` };
  const after = await ctx.client.magicCloudNetworking.catalogSyncs.edit(before.id, { account_id: ctx.accountId, ...params });
  checkSyncShape(after, 'edited sync');
  checkRoundTrip(after, params, 'edited sync');
  // PATCH touches only what it was given.
  for (const k of ['id', 'description', 'policy', 'update_mode', 'destination_type', 'destination_id']) {
    expect(after[k] === before[k], `PATCH changed ${k}: ${show(before[k])} -> ${show(after[k])}`);
  }
  ctx.zt = after;
}

async function checkRefresh(ctx) {
  const sync = needSync(ctx, 'zt');
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  const result = await api.refresh(sync.id, { account_id: ctx.accountId });
  expect(typeof result === 'string', `refresh result is ${typeof result} (${show(result)}), not a string`);
  ctx.refreshed = true;
}

// By the field names (README: "a refresh ... sets last_attempted_update_at"),
// a refresh leaves a trace on the sync.
async function checkRefreshRecordsAttempt(ctx) {
  const sync = needSync(ctx, 'zt');
  expect(ctx.refreshed, `no refresh went through`);
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  const after = await api.get(sync.id, { account_id: ctx.accountId });
  checkSyncShape(after, 'refreshed sync');
  expect(typeof after.last_attempted_update_at === 'string', `last_attempted_update_at not set after refresh`);
}

async function deleteSync(ctx, key, deleteDestination) {
  const sync = needSync(ctx, key);
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  await ctx.control.clearLog();
  const result = await api.delete(sync.id, { account_id: ctx.accountId, delete_destination: deleteDestination });
  expect(result && typeof result === 'object' && !Array.isArray(result), `delete result is not an object: ${show(result)}`);
  expect(JSON.stringify(Object.keys(result)) === '["id"]', `delete result is ${show(result)}, expected exactly {id}`);
  expect(result.id === sync.id, `delete result id ${show(result.id)} != ${sync.id}`);

  const [req] = requestsTo(await ctx.control.log(), 'DELETE', syncPath(ctx, sync.id));
  expect(req, `the emulator logged no DELETE for ${sync.id}`);
  expect(logQuery(req).get('delete_destination') === String(deleteDestination),
    `DELETE query ${show(req.query)} lacks delete_destination=${deleteDestination}`);

  await expectThrows(api.get(sync.id, { account_id: ctx.accountId }), [Cloudflare.NotFoundError], 'get after delete');
  ctx.created = ctx.created.filter((id) => id !== sync.id);
  ctx[key] = null;
}

async function checkDuplicateCreate(ctx) {
  const sync = needSync(ctx, 'none');
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  await ctx.control.clearLog();
  const err = await expectThrows(
    api.create({ account_id: ctx.accountId, name: sync.name, destination_type: 'NONE', update_mode: 'MANUAL' }),
    [Cloudflare.ConflictError], 'duplicate create');
  checkSdkErrorBody(err, 'duplicate create');
  // The SDK retries 409 unless told not to: a create must say so.
  expect(err.headers?.get('x-should-retry') === 'false', `409 without x-should-retry: false (got ${show(err.headers?.get('x-should-retry'))})`);
  const posts = requestsTo(await ctx.control.log(), 'POST', syncPath(ctx))
    .filter((e) => logBody(e)?.name === sync.name);
  expect(posts.length === 1, `${posts.length} POSTs for the duplicate name, expected exactly 1`);
}

async function checkEditConflict(ctx) {
  const a = needSync(ctx, 'zt');
  const b = needSync(ctx, 'none');
  const err = await expectThrows(
    ctx.client.magicCloudNetworking.catalogSyncs.edit(a.id, { account_id: ctx.accountId, name: b.name }),
    [Cloudflare.ConflictError], 'rename onto a taken name');
  checkSdkErrorBody(err, 'rename conflict');
}

async function checkBadToken(ctx) {
  const bad = makeClient(ctx.baseURL, { apiToken: `not-${ctx.token}` }, []);
  await ctx.control.clearLog();
  const err = await expectThrows(
    bad.magicCloudNetworking.catalogSyncs.list({ account_id: ctx.accountId }),
    [Cloudflare.PermissionDeniedError, Cloudflare.AuthenticationError], 'list with a bad token');
  checkSdkErrorBody(err, 'bad token');
  // 401/403 are final: the SDK must not have retried.
  const tries = requestsTo(await ctx.control.log(), 'GET', syncPath(ctx));
  expect(tries.length === 1, `${tries.length} attempts with a bad token, expected 1`);
}

// The SDK's apiEmail/apiKey send X-Auth-Email + X-Auth-Key and no bearer
// token; Cloudflare still accepts that pair, and refuses a wrong key.
async function checkLegacyAuth(ctx) {
  const good = makeClient(ctx.baseURL, { apiEmail: ctx.email, apiKey: ctx.apiKey }, ctx.allRaw);
  const page = await good.magicCloudNetworking.catalogSyncs.list({ account_id: ctx.accountId });
  expect(Array.isArray(page.body?.result), `result is not an array: ${show(page.body?.result)}`);

  const bad = makeClient(ctx.baseURL, { apiEmail: ctx.email, apiKey: `not-${ctx.apiKey}` }, []);
  const err = await expectThrows(
    bad.magicCloudNetworking.catalogSyncs.list({ account_id: ctx.accountId }),
    [Cloudflare.PermissionDeniedError, Cloudflare.AuthenticationError], 'list with a wrong API key');
  checkSdkErrorBody(err, 'wrong API key');
}

async function checkUnknownSync(ctx) {
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  const err = await expectThrows(
    api.get('00000000-0000-4000-8000-000000000000', { account_id: ctx.accountId }),
    [Cloudflare.NotFoundError], 'get of an unknown sync');
  checkSdkErrorBody(err, 'unknown sync');
}

async function checkBadPolicy(ctx) {
  const api = ctx.client.magicCloudNetworking.catalogSyncs;
  const name = `conformance-bad-policy-${ctx.suffix}`;
  const err = await expectThrows(
    api.create({ account_id: ctx.accountId, name, destination_type: 'NONE', update_mode: 'MANUAL', policy: '{' }),
    [Cloudflare.UnprocessableEntityError], 'create with policy "{"');
  checkSdkErrorBody(err, 'bad policy');
  const names = [];
  for await (const s of api.list({ account_id: ctx.accountId })) names.push(s.name);
  expect(!names.includes(name), `the rejected sync was created anyway`);
}

// Injects one failing answer for the next GET of a sync, then reads it
// through the SDK and returns what happened on the wire.
async function getThroughFault(ctx, fault) {
  const sync = needSync(ctx, 'zt');
  const path = syncPath(ctx, sync.id);
  await ctx.control.clearFaults();
  await ctx.control.clearLog();
  ctx.raw.length = 0;
  // Regex on the path as logged; ".*" so a kept /client/v4 prefix still matches.
  await ctx.control.addFault({ method: 'GET', path: `^.*${path}$`, count: 1, ...fault });
  const started = Date.now();
  const got = await ctx.client.magicCloudNetworking.catalogSyncs.get(sync.id, { account_id: ctx.accountId });
  const elapsed = Date.now() - started;
  await ctx.control.clearFaults();
  expect(got.id === sync.id, `read back ${show(got.id)} after the retry`);
  const tries = requestsTo(await ctx.control.log(), 'GET', path);
  expect(ctx.raw.length > 0, `the SDK's fetch recorded no answers`);
  return { tries, elapsed, raw: [...ctx.raw] };
}

async function checkRetryOn500(ctx) {
  const { tries, raw } = await getThroughFault(ctx, { action: 'status', status: 500 });
  expect(tries.length === 2, `${tries.length} attempts, expected 2 (one 500, one success)`);
  expect(tries[0].status === 500 && tries[1].status === 200, `statuses ${tries.map((t) => t.status).join(',')}`);
  await checkEnvelope(raw[0]);
}

async function checkRetryOn429(ctx) {
  const { tries, elapsed, raw } = await getThroughFault(ctx, {
    action: 'status', status: 429, retry_after: '1',
  });
  expect(tries.length === 2, `${tries.length} attempts, expected 2 (one 429, one success)`);
  expect(tries[0].status === 429 && tries[1].status === 200, `statuses ${tries.map((t) => t.status).join(',')}`);
  const retryAfter = raw[0].headers.get('retry-after');
  expect(retryAfter === '1', `429 carried Retry-After ${show(retryAfter)}, expected "1"`);
  // Without Retry-After the SDK would wait 0.375-0.5 s; honouring it takes ~1 s.
  expect(elapsed >= 900, `the retry came after ${elapsed} ms, Retry-After: 1 asks for 1000`);
  await checkEnvelope(raw[0]);
}

// Every answer recorded so far must be a proper v4 envelope.
async function checkAllEnvelopes(ctx) {
  expect(ctx.allRaw.length > 0, `no answers recorded`);
  for (const record of ctx.allRaw) await checkEnvelope(record);
}

async function checkRateLimitHeaders(ctx) {
  // Cloudflare's documented (IETF draft) headers, not X-RateLimit-*
  const missing = ctx.allRaw.filter((r) =>
    !/;r=\d+;t=\d+/.test(r.headers.get('ratelimit') || '') ||
    !/;q=\d+;w=\d+/.test(r.headers.get('ratelimit-policy') || ''));
  expect(missing.length === 0,
    `${missing.length}/${ctx.allRaw.length} answers lack Ratelimit/Ratelimit-Policy, e.g. ${missing[0]?.method} ${missing[0] && new URL(missing[0].url).pathname}`);
}

// ------------------------------------------------------------------- main

function makeClient(baseURL, credentials, sink) {
  return new Cloudflare({
    // Explicit nulls so stray CLOUDFLARE_* variables cannot add other credentials.
    apiToken: null,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    ...credentials,
    baseURL,
    maxRetries: 2,
    fetch: recordingFetch(sink),
  });
}

async function main() {
  const [baseURL, tokenArg, email, apiKey] = process.argv.slice(2);
  if (!baseURL || (email && !apiKey)) {
    console.error('usage: node conformance.mjs BASE_URL [TOKEN [EMAIL API_KEY]]');
    process.exit(2);
  }
  const token = tokenArg ?? process.env.CATSYNCFS_TOKEN ?? 'demo-token';
  const allRaw = [];
  const raw = [];
  const sink = { push: (r) => (allRaw.push(r), raw.push(r)) };
  const control = new EmulatorControl(baseURL);
  const ctx = {
    baseURL, token, control, raw, allRaw,
    client: makeClient(baseURL, { apiToken: token }, sink),
    email, apiKey,
    suffix: uniqueSuffix(),
    created: [],
  };

  // Start from the documented seed, with no faults left by anyone else.
  await control.reset();
  await control.clearFaults();

  const run = new Runner();
  await run.check('accounts.list.paging', () => checkAccountsPaging(ctx));
  if (!ctx.accountId) {
    console.log('# cannot go on without an account id');
    process.exit(1);
  }
  await run.check('prebuiltPolicies.list', () => checkPrebuiltPolicies(ctx));
  await run.check('prebuiltPolicies.list.destination_type', () => checkPrebuiltPoliciesFiltered(ctx));
  await run.check('catalogSyncs.list', () => checkListSyncs(ctx));
  await run.check('catalogSyncs.create.zero_trust_list', () => createSync(ctx, 'zt', {
    name: `conformance-zt-${ctx.suffix}`,
    description: 'Conformance run: ZERO_TRUST_LIST, ünïcödé ✓',
    destination_type: 'ZERO_TRUST_LIST',
    update_mode: 'MANUAL',
    policy: 'package catalog\n\n# VPC CIDRs ✓\nresult[x] {\n  x := input.aws_vpc[_].cidr_block\n}\n',
  }));
  await run.check('catalogSyncs.create.none', () => createSync(ctx, 'none', {
    name: `conformance-none-${ctx.suffix}`,
    destination_type: 'NONE',
    update_mode: 'AUTO',
  }));
  await run.check('catalogSyncs.get', () => checkGet(ctx));
  await run.check('catalogSyncs.list.contains_created', () => checkListHasCreated(ctx));
  await run.check('catalogSyncs.update', () => checkUpdate(ctx));
  await run.check('catalogSyncs.edit', () => checkEdit(ctx));
  await run.check('catalogSyncs.refresh', () => checkRefresh(ctx));
  await run.check('catalogSyncs.refresh.records_attempt', () => checkRefreshRecordsAttempt(ctx));
  await run.check('error.conflict.create_single_attempt', () => checkDuplicateCreate(ctx));
  await run.check('error.conflict.edit', () => checkEditConflict(ctx));
  await run.check('error.bad_token', () => checkBadToken(ctx));
  if (ctx.email) await run.check('auth.legacy_email_key', () => checkLegacyAuth(ctx));
  await run.check('error.not_found', () => checkUnknownSync(ctx));
  await run.check('error.unprocessable_policy', () => checkBadPolicy(ctx));
  await run.check('retry.500_then_success', () => checkRetryOn500(ctx));
  await run.check('retry.429_retry_after', () => checkRetryOn429(ctx));
  await run.check('catalogSyncs.delete.destination_true', () => deleteSync(ctx, 'zt', true));
  await run.check('catalogSyncs.delete.destination_false', () => deleteSync(ctx, 'none', false));
  await run.check('envelope.all_answers', () => checkAllEnvelopes(ctx));
  await run.check('headers.ratelimit', () => checkRateLimitHeaders(ctx));

  // Clean up after ourselves: no faults, no syncs of ours left behind.
  await control.clearFaults().catch(() => {});
  for (const id of ctx.created) {
    await ctx.client.magicCloudNetworking.catalogSyncs.delete(id, { account_id: ctx.accountId }).catch(() => {});
  }

  const failed = run.failures.length;
  console.log(`# ${run.results.length} checks, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log(`FAIL setup: ${describeError(err)}`);
  process.exit(1);
});
