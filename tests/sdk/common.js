// Shared by the sdk scenarios (run by run.sh, which exports AZKM_SDK_*): credentials and clients for the
// principals run.sh made, the checks, and base64url for JWK fields.
"use strict";
const fs = require("fs");
const { ClientSecretCredential } = require("@azure/identity");
const { KeyClient } = require("@azure/keyvault-keys");

const env = process.env;
const vaultUrl = env.AZKM_SDK_VAULT_URL;
const principals = fs
  .readFileSync(env.AZKM_SDK_PRINCIPALS, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l));

// credential(principal, [secret]): azkmd's token endpoint as the authority (https, no instance discovery).
function credential(p, secret) {
  return new ClientSecretCredential(env.AZKM_SDK_TENANT, p.appId, secret ?? p.password, {
    authorityHost: env.AZKM_SDK_AUTHORITY,
    disableInstanceDiscovery: true,
  });
}
// No retries: a failure is reported at once, and a test never waits on a back-off.
const clientOptions = { retryOptions: { maxRetries: 0 } };
function keyClient(cred) {
  return new KeyClient(vaultUrl, cred, clientOptions);
}

let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) throw new Error(`check failed: ${what}`);
}
const started = Date.now();
function step(what) {
  console.log(`== [${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
}
// rejects(promise, status, code, text): the call fails with a RestError of this status and code whose message holds
// text (when given); returns the error.
async function rejects(promise, status, code, text, what) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  check(err !== undefined, `${what}: succeeded, expected ${status} ${code}`);
  check(err.statusCode === status, `${what}: status ${err.statusCode} (${err.message}), expected ${status}`);
  check(err.code === code, `${what}: code ${err.code}, expected ${code}`);
  // The SDK's pagers replace azkmd's message with "Pagination failed with unexpected statusCode 403" and drop the
  // body: azkmd's message is then taken from its audit record of the request (the newest one).
  let message = err.message;
  if (/^Pagination failed/.test(message)) {
    const records = fs.readFileSync(env.AZKM_SDK_AUDIT_LOG, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = records.filter((r) => r.category === "AuditEvent").pop();
    check(last.httpStatusCode === status, `${what}: audit record ${JSON.stringify(last)}`);
    message = last.resultDescription;
  }
  if (text) check(String(message).includes(text), `${what}: message '${message}' lacks '${text}'`);
  return err;
}
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const unb64u = (s) => Buffer.from(s, "base64url");
// The SDK's JsonWebKey has Uint8Array fields; node's crypto exports and imports base64url strings.
const JWK_BINARY = ["n", "e", "d", "dp", "dq", "qi", "p", "q", "x", "y", "k"];
function sdkJwk(nodeJwk) {
  const out = {};
  for (const [k, v] of Object.entries(nodeJwk)) out[k] = JWK_BINARY.includes(k) ? unb64u(v) : v;
  return out;
}
function nodeJwk(sdk) {
  const out = { kty: sdk.kty.replace(/-HSM$/, "") };
  for (const k of ["n", "e", "x", "y"]) if (sdk[k]) out[k] = b64u(sdk[k]);
  if (sdk.crv) out.crv = sdk.crv;
  return out;
}
function done() {
  console.log(`PASS: ${checks} checks in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
function main(fn) {
  fn().then(done, (e) => {
    console.error(`FAIL: ${e.stack || e}`);
    process.exit(1);
  });
}
module.exports = { env, vaultUrl, principals, credential, clientOptions, keyClient, check, step, rejects, b64u,
  unb64u, sdkJwk, nodeJwk, main };
