// Each built-in role allowed and denied exactly its data actions through the SDK: one service principal per role
// (run.sh assigns it at scope /), and one table of SDK calls, each with the data action azkmd requires for it. A
// call the role grants succeeds; any other fails with a 403 RestError, code Forbidden, naming the missing action.
// Then a wrong client secret: the credential fails with Entra's invalid_client, before any vault request.
"use strict";
const crypto = require("crypto");
const c = require("./common.js");
const { check, step, rejects } = c;

const KEYS = "Microsoft.KeyVault/vaults/keys/";
const POLICIES = "Microsoft.KeyVault/vaults/keyrotationpolicies/";
const digest = crypto.createHash("sha256").update("data").digest();
const poll = { intervalInMs: 50 };

// [name, data action, call(keyClient, i, fixtures)]: i is the role's index, for names of its own.
const CALLS = [
  ["getKey", KEYS + "read", (k) => k.getKey("k1")],
  ["listPropertiesOfKeys", KEYS + "read", (k) => k.listPropertiesOfKeys().byPage({ maxPageSize: 1 }).next()],
  ["getDeletedKey", KEYS + "read", (k) => k.getDeletedKey("gone")],
  ["createKey", KEYS + "create/action", (k, i) => k.createEcKey(`c-${i}`)],
  ["importKey", KEYS + "import/action", (k, i) => k.importKey(`i-${i}`, c.sdkJwk(crypto.generateKeyPairSync("ec",
    { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })))],
  ["updateKeyProperties", KEYS + "update/action", (k, i) => k.updateKeyProperties("k1", { tags: { by: `${i}` } })],
  ["beginDeleteKey", KEYS + "delete", async (k, i) => (await k.beginDeleteKey(`d-${i}`, poll)).pollUntilDone()],
  ["beginRecoverDeletedKey", KEYS + "recover/action",
    async (k, i) => (await k.beginRecoverDeletedKey(`v-${i}`, poll)).pollUntilDone()],
  ["purgeDeletedKey", KEYS + "purge/action", (k, i) => k.purgeDeletedKey(`p-${i}`)],
  ["backupKey", KEYS + "backup/action", (k) => k.backupKey("k1")],
  ["restoreKeyBackup", KEYS + "restore/action", (k, i, f) => k.restoreKeyBackup(f.backups[i])],
  ["rotateKey", KEYS + "rotate/action", (k) => k.rotateKey("k1")],
  ["getKeyRotationPolicy", POLICIES + "read", (k) => k.getKeyRotationPolicy("k1")],
  ["updateKeyRotationPolicy", POLICIES + "write",
    (k) => k.updateKeyRotationPolicy("k1", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }] })],
  ["sign", KEYS + "sign/action", (k, i, f) => f.ec(k).sign("ES256", digest)],
  ["verify", KEYS + "verify/action", (k, i, f) => f.ec(k).verify("ES256", digest, f.signature)],
  ["encrypt", KEYS + "encrypt/action", (k, i, f) => f.rsa(k).encrypt({ algorithm: "RSA-OAEP-256", plaintext: digest })],
  ["decrypt", KEYS + "decrypt/action", (k, i, f) => f.rsa(k).decrypt({ algorithm: "RSA-OAEP-256", ciphertext: f.ct })],
  ["wrapKey", KEYS + "wrap/action", (k, i, f) => f.rsa(k).wrapKey("RSA-OAEP-256", digest)],
  ["unwrapKey", KEYS + "unwrap/action", (k, i, f) => f.rsa(k).unwrapKey("RSA-OAEP-256", f.ct)],
  ["getRandomBytes", "Microsoft.KeyVault/managedHsm/rng/action", (k) => k.getRandomBytes(8)],
];
const ALL = CALLS.map((x) => x[0]).filter((n) => n !== "getRandomBytes");
const READ = ["getKey", "listPropertiesOfKeys", "getDeletedKey"];
// What each role may do, from Azure's role definitions (docs/security.md): getRandomBytes is Managed HSM's
// rng/action, which none of these grants.
const ALLOWED = {
  "Key Vault Administrator": ALL,
  "Key Vault Crypto Officer": ALL,
  "Key Vault Crypto User": [...READ, "updateKeyProperties", "backupKey", "sign", "verify", "encrypt", "decrypt",
    "wrapKey", "unwrapKey"],
  "Key Vault Crypto Service Encryption User": [...READ, "wrapKey", "unwrapKey"],
  "Key Vault Crypto Service Release User": [],
  "Key Vault Reader": [...READ, "getKeyRotationPolicy"],
  "Managed HSM Crypto Auditor": READ,
  "Managed HSM Backup User": ["backupKey"],
};

// The keys every role's calls act on, made by the Crypto Officer: k1 (EC) and r1 (RSA), a deleted key "gone", and
// for role i: d-i to delete, v-i and p-i deleted (to recover, to purge), the backup of a purged b-i (to restore).
async function fixtures(admin) {
  const f = { backups: [] };
  await admin.createEcKey("k1");
  const r1 = await admin.createRsaKey("r1");
  const pub = crypto.createPublicKey({ key: c.nodeJwk(r1.key), format: "jwk" });
  f.ct = crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, digest);
  f.signature = (await admin.getCryptographyClient("k1").sign("ES256", digest)).result;
  f.ec = (k) => k.getCryptographyClient("k1");
  f.rsa = (k) => k.getCryptographyClient("r1");
  const del = async (n) => (await admin.beginDeleteKey(n, poll)).pollUntilDone();
  await admin.createEcKey("gone");
  await del("gone");
  for (let i = 0; i < c.principals.length; i++) {
    for (const n of [`d-${i}`, `v-${i}`, `p-${i}`, `b-${i}`]) await admin.createEcKey(n);
    f.backups[i] = await admin.backupKey(`b-${i}`);
    await Promise.all([del(`v-${i}`), del(`p-${i}`), del(`b-${i}`)]);
    await admin.purgeDeletedKey(`b-${i}`);
  }
  return f;
}

async function role(p, i, f) {
  const t0 = Date.now();
  const k = c.keyClient(c.credential(p));
  const allowed = ALLOWED[p.role];
  check(allowed !== undefined, `no table row for role ${p.role}`);
  const results = [];
  for (const [name, action, call] of CALLS) {
    if (allowed.includes(name)) {
      try {
        await call(k, i, f);
      } catch (e) {
        throw new Error(`${p.role}: ${name} was refused: ${e.statusCode} ${e.message}`);
      }
      results.push(`+${name}`);
    } else {
      await rejects(call(k, i, f), 403, "Forbidden", `Action: '${action}'`, `${p.role}: ${name}`);
      results.push(`-${name}`);
    }
  }
  console.log(`${p.role} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${results.join(" ")}`);
}

c.main(async () => {
  const officer = c.principals.find((p) => p.role === "Key Vault Crypto Officer");
  step("fixtures, made by the Crypto Officer");
  const f = await fixtures(c.keyClient(c.credential(officer)));
  step(`${CALLS.length} SDK calls for each of ${c.principals.length} roles`);
  for (let i = 0; i < c.principals.length; i++) await role(c.principals[i], i, f);

  // @azure/identity wraps MSAL's ServerError for Entra's 401 invalid_client as AuthenticationRequiredError.
  step("a wrong client secret: the credential fails with Entra's invalid_client (AADSTS7000215)");
  let err;
  try {
    await c.keyClient(c.credential(officer, officer.password + "x")).getKey("k1");
  } catch (e) {
    err = e;
  }
  check(err && err.name === "AuthenticationRequiredError", `wrong secret: ${err && err.name}: ${err && err.message}`);
  check(/^invalid_client: /.test(err.message) && /AADSTS7000215: invalid client secret/.test(err.message),
    `wrong secret: ${err.message}`);
});
