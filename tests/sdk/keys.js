// Every KeyClient and CryptographyClient operation azkmd serves, through the real SDK, as a Key Vault Crypto Officer
// service principal with a ClientSecretCredential against azkmd's token endpoint; on the tier AZKM_SDK_TIER.
// Results are checked independently with node's crypto: azkmd's signatures verified with the public JWK it returned,
// node's ciphertexts (made with that public key) decrypted by azkmd, azkmd's ciphertexts of imported keys decrypted
// by node with the private key it imported, node's signatures verified by azkmd.
"use strict";
const crypto = require("crypto");
const { CryptographyClient, parseKeyVaultKeyIdentifier } = require("@azure/keyvault-keys");
const c = require("./common.js");
const { check, step, rejects, b64u } = c;

const hsm = c.env.AZKM_SDK_TIER === "hsm";
const suffix = hsm ? "-HSM" : "";
const officer = c.principals.find((p) => p.role === "Key Vault Crypto Officer");
const cred = c.credential(officer);
const client = c.keyClient(cred);
const poll = { intervalInMs: 50 };
const sha = (alg, data) => crypto.createHash(alg).update(data).digest();
const data = Buffer.from("the quick brown fox");

// A key id of azkmd round-trips through the SDK's parser: this vault's origin, the name, a 32-hex version.
function checkKey(key, name, kty) {
  check(key.name === name, `name ${key.name}`);
  check(key.keyType === kty, `${name}: kty ${key.keyType}, expected ${kty}`);
  const id = parseKeyVaultKeyIdentifier(key.id);
  check(id.vaultUrl === c.vaultUrl && id.name === name, `${name}: id ${key.id}`);
  check(/^[0-9a-f]{32}$/.test(id.version) && key.properties.version === id.version, `${name}: version`);
  check(key.properties.enabled === true && key.properties.createdOn instanceof Date, `${name}: attributes`);
  return crypto.createPublicKey({ key: c.nodeJwk(key.key), format: "jwk" });
}

async function create() {
  step("create RSA 2048, EC P-256 and P-384, oct 256 (hsm: " + hsm + ")");
  const rsa = await client.createRsaKey("rsa", { keySize: 2048, hsm });
  const rsaPub = checkKey(rsa, "rsa", "RSA" + suffix);
  check(rsa.key.n.length === 256 && rsaPub.asymmetricKeyDetails.modulusLength === 2048, "RSA modulus");
  const ec = await client.createEcKey("ec", { curve: "P-256", hsm, tags: { app: "sdk" } });
  const ecPub = checkKey(ec, "ec", "EC" + suffix);
  check(ec.key.crv === "P-256" && ec.properties.tags.app === "sdk", "EC curve and tags");
  const ec384 = await client.createEcKey("ec384", { curve: "P-384", hsm });
  const ec384Pub = checkKey(ec384, "ec384", "EC" + suffix);
  const oct = await client.createOctKey("aes", { keySize: 256, hsm });
  check(oct.keyType === "oct" + suffix && oct.key.k === undefined, "oct key: type, no key material returned");
  await rejects(client.createEcKey("EC", { curve: "P-256" }), 409, "Conflict", undefined, "create on an existing name");
  return { rsa, rsaPub, ec, ecPub, ec384, ec384Pub };
}

async function importKeys() {
  step("import JWKs made by node: RSA, EC P-256, oct");
  const rsaPriv = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const ecPriv = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const aes = crypto.randomBytes(32);
  const rsa = await client.importKey("imp-rsa", c.sdkJwk(rsaPriv.export({ format: "jwk" })), { hardwareProtected: hsm });
  checkKey(rsa, "imp-rsa", "RSA" + suffix);
  check(rsa.key.d === undefined, "no private part returned");
  check(Buffer.compare(Buffer.from(rsa.key.n), Buffer.from(rsaPriv.export({ format: "jwk" }).n, "base64url")) === 0,
    "imported modulus");
  const ec = await client.importKey("imp-ec", c.sdkJwk(ecPriv.export({ format: "jwk" })), { hardwareProtected: hsm });
  checkKey(ec, "imp-ec", "EC" + suffix);
  const oct = await client.importKey("imp-aes", { kty: "oct", k: aes, keyOps: ["encrypt", "decrypt", "wrapKey", "unwrapKey"] },
    { hardwareProtected: hsm });
  check(oct.keyType === "oct" + suffix, `imported oct: ${oct.keyType}`);
  return { rsaPriv, ecPriv, aes };
}

async function read(k) {
  step("get latest and by version, rotate, list versions, list keys by pages of 2");
  const latest = await client.getKey("RSA"); // names are case-insensitive
  check(latest.id === k.rsa.id, "get latest");
  const rotated = await client.rotateKey("rsa");
  check(rotated.properties.version !== k.rsa.properties.version, "rotate makes a new version");
  check((await client.getKey("rsa")).id === rotated.id, "latest after rotate");
  const old = await client.getKey("rsa", { version: k.rsa.properties.version });
  check(old.id === k.rsa.id && Buffer.compare(Buffer.from(old.key.n), Buffer.from(k.rsa.key.n)) === 0, "get by version");
  const versions = [];
  for await (const page of client.listPropertiesOfKeyVersions("rsa").byPage({ maxPageSize: 1 })) versions.push(...page);
  check(versions.length === 2, `versions: ${versions.length}`);
  check(new Set(versions.map((v) => v.version)).size === 2 && versions.some((v) => v.version === rotated.properties.version),
    "versions listed");
  const names = [];
  let pages = 0;
  for await (const page of client.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) {
    check(page.length <= 2, `page of ${page.length}`);
    pages++;
    names.push(...page.map((p) => p.name));
  }
  const want = ["aes", "ec", "ec384", "imp-aes", "imp-ec", "imp-rsa", "rsa"];
  check(JSON.stringify(names.sort()) === JSON.stringify(want), `listed ${names}`);
  check(pages === 4, `pages: ${pages}`);
  await rejects(client.getKey("nosuch"), 404, "KeyNotFound", "nosuch", "get a missing key");
  return rotated;
}

async function update(k) {
  step("updateKeyProperties: tags, key_ops, disabled and enabled again");
  const v = k.ec.properties.version;
  let p = await client.updateKeyProperties("ec", v, { tags: { app: "sdk", env: "test" }, keyOps: ["sign", "verify"] });
  check(p.properties.tags.env === "test" && p.keyOperations.join() === "sign,verify", "tags and key_ops updated");
  p = await client.updateKeyProperties("ec", { enabled: false });
  check(p.properties.enabled === false, "disabled");
  const cc = client.getCryptographyClient("ec", { keyVersion: v });
  await rejects(cc.sign("ES256", sha("sha256", data)), 403, "Forbidden", undefined, "sign with a disabled key");
  p = await client.updateKeyProperties("ec", v, { enabled: true });
  check(p.properties.enabled === true, "enabled again");
}

async function lifecycle() {
  step("beginDeleteKey, getDeletedKey, listDeletedKeys by pages, beginRecoverDeletedKey, purgeDeletedKey");
  for (const n of ["gone-1", "gone-2", "gone-3"]) await client.createEcKey(n, { hsm });
  for (const n of ["gone-1", "gone-2", "gone-3"]) {
    const deleted = await (await client.beginDeleteKey(n, poll)).pollUntilDone();
    check(deleted.name === n && deleted.properties.recoveryId.endsWith(`/deletedkeys/${n}`), `deleted ${n}`);
    check(deleted.properties.deletedOn instanceof Date && deleted.properties.scheduledPurgeDate instanceof Date,
      "deletion dates");
  }
  check((await client.getDeletedKey("gone-1")).name === "gone-1", "getDeletedKey");
  const deletedNames = [];
  for await (const page of client.listDeletedKeys().byPage({ maxPageSize: 1 })) {
    check(page.length <= 1, "deleted page size");
    deletedNames.push(...page.map((d) => d.name));
  }
  check(deletedNames.sort().join() === "gone-1,gone-2,gone-3", `listed deleted: ${deletedNames}`);
  await rejects(client.getKey("gone-1"), 404, "KeyNotFound", undefined, "get a deleted key");
  await rejects(client.createEcKey("gone-1"), 409, "Conflict", undefined, "create on a deleted name");
  const recovered = await (await client.beginRecoverDeletedKey("gone-1", poll)).pollUntilDone();
  check(recovered.name === "gone-1" && (await client.getKey("gone-1")).name === "gone-1", "recovered");
  await client.purgeDeletedKey("gone-2");
  await rejects(client.getDeletedKey("gone-2"), 404, "KeyNotFound", undefined, "get a purged key");
}

async function backup(k) {
  if (hsm) {
    step("backupKey of an HSM key: refused, its material cannot leave the token");
    await rejects(client.backupKey("rsa"), 403, "Forbidden", "cannot leave the token", "backup of an HSM key");
    return;
  }
  step("backupKey, delete and purge, restoreKeyBackup: the same key, both versions");
  const blob = await client.backupKey("rsa");
  check(blob instanceof Uint8Array && blob.length > 256, "backup blob");
  await (await client.beginDeleteKey("rsa", poll)).pollUntilDone();
  await client.purgeDeletedKey("rsa");
  await rejects(client.getKey("rsa"), 404, "KeyNotFound", undefined, "get after purge");
  const restored = await client.restoreKeyBackup(blob);
  check(restored.name === "rsa" && restored.id === k.rotated.id, `restored ${restored.id}`);
  const old = await client.getKey("rsa", { version: k.rsa.properties.version });
  check(Buffer.compare(Buffer.from(old.key.n), Buffer.from(k.rsa.key.n)) === 0, "restored old version");
  await rejects(client.restoreKeyBackup(blob), 409, "Conflict", undefined, "restore over an existing key");
}

async function rotationPolicy() {
  step("getKeyRotationPolicy (the default), updateKeyRotationPolicy, get again");
  const def = await client.getKeyRotationPolicy("ec");
  check(Array.isArray(def.lifetimeActions), "default policy");
  const set = await client.updateKeyRotationPolicy("ec", {
    lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }, { action: "Notify", timeBeforeExpiry: "P30D" }],
    expiresIn: "P1Y",
  });
  const got = await client.getKeyRotationPolicy("ec");
  for (const p of [set, got]) {
    check(p.expiresIn === "P1Y", `expiresIn ${p.expiresIn}`);
    const rotate = p.lifetimeActions.find((a) => a.action === "Rotate");
    const notify = p.lifetimeActions.find((a) => a.action === "Notify");
    check(rotate && rotate.timeAfterCreate === "P90D" && notify && notify.timeBeforeExpiry === "P30D",
      `lifetime actions ${JSON.stringify(p.lifetimeActions)}`);
  }
}

async function signatures(k, imp) {
  step("sign RS/PS 256-512, ES256, ES384: verified by node with the public JWK; node's signatures verified by azkmd");
  const rsa = client.getCryptographyClient("rsa", { keyVersion: k.rsa.properties.version });
  for (const bits of [256, 384, 512]) {
    const d = sha(`sha${bits}`, data);
    for (const [alg, padding] of [[`RS${bits}`, crypto.constants.RSA_PKCS1_PADDING],
      [`PS${bits}`, crypto.constants.RSA_PKCS1_PSS_PADDING]]) {
      const s = await rsa.sign(alg, d);
      check(s.keyID === k.rsa.id && s.algorithm === alg, `${alg} result`);
      check(crypto.verify(`sha${bits}`, data, { key: k.rsaPub, padding, saltLength: bits / 8 }, s.result),
        `${alg}: node does not verify azkmd's signature`);
      check((await rsa.verify(alg, d, s.result)).result === true, `${alg}: azkmd verify`);
      const bad = Buffer.from(s.result);
      bad[0] ^= 1;
      check((await rsa.verify(alg, d, bad)).result === false, `${alg}: a changed signature verifies`);
    }
  }
  const signData = await rsa.signData("RS256", data);
  check(crypto.verify("sha256", data, k.rsaPub, signData.result), "signData RS256");
  for (const [name, pub, alg, hash] of [["ec", k.ecPub, "ES256", "sha256"], ["ec384", k.ec384Pub, "ES384", "sha384"]]) {
    const cc = new CryptographyClient(k[name], cred, c.clientOptions); // from the KeyVaultKey: its id's vault URL
    const s = await cc.sign(alg, sha(hash, data));
    check(s.result.length === (alg === "ES256" ? 64 : 96), `${alg}: raw r||s`);
    check(crypto.verify(hash, data, { key: pub, dsaEncoding: "ieee-p1363" }, s.result), `${alg}: node verify`);
    check((await cc.verify(alg, sha(hash, data), s.result)).result === true, `${alg}: azkmd verify`);
  }
  const impRsa = client.getCryptographyClient("imp-rsa");
  const impEc = client.getCryptographyClient("imp-ec");
  const ps = crypto.sign("sha256", data, { key: imp.rsaPriv, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  check((await impRsa.verify("PS256", sha("sha256", data), ps)).result === true, "azkmd verifies node's PS256");
  const es = crypto.sign("sha256", data, { key: imp.ecPriv, dsaEncoding: "ieee-p1363" });
  check((await impEc.verify("ES256", sha("sha256", data), es)).result === true, "azkmd verifies node's ES256");
  const s = await impEc.sign("ES256", sha("sha256", data));
  check(crypto.verify("sha256", data, { key: imp.ecPriv, dsaEncoding: "ieee-p1363" }, s.result), "imported EC signs");
}

const OAEP = { "RSA-OAEP": "sha1", "RSA-OAEP-256": "sha256" };
async function encryption(k, imp) {
  step("RSA-OAEP, RSA-OAEP-256, RSA1_5: node encrypts with the public JWK, azkmd decrypts; and the reverse");
  const rsa = client.getCryptographyClient("rsa", { keyVersion: k.rsa.properties.version });
  const impRsa = client.getCryptographyClient("imp-rsa");
  const pt = crypto.randomBytes(32);
  for (const alg of ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]) {
    const padding = OAEP[alg] ? crypto.constants.RSA_PKCS1_OAEP_PADDING : crypto.constants.RSA_PKCS1_PADDING;
    const ct = crypto.publicEncrypt({ key: k.rsaPub, padding, oaepHash: OAEP[alg] }, pt);
    const d = await rsa.decrypt({ algorithm: alg, ciphertext: ct });
    check(Buffer.compare(Buffer.from(d.result), pt) === 0, `${alg}: azkmd decrypts node's ciphertext`);
    const u = await rsa.unwrapKey(alg, ct);
    check(Buffer.compare(Buffer.from(u.result), pt) === 0, `${alg}: azkmd unwraps node's wrapped key`);
    const e = await impRsa.encrypt({ algorithm: alg, plaintext: pt });
    check(e.result.length === 256, `${alg}: ciphertext length`);
    if (OAEP[alg]) { // node 20 refuses RSA1_5 private decryption (CVE-2023-46809): azkmd decrypts it below
      check(Buffer.compare(crypto.privateDecrypt({ key: imp.rsaPriv, padding, oaepHash: OAEP[alg] }, e.result), pt) === 0,
        `${alg}: node decrypts the imported key's ciphertext`);
    }
    check(Buffer.compare(Buffer.from((await impRsa.decrypt({ algorithm: alg, ciphertext: e.result })).result), pt) === 0,
      `${alg}: round trip`);
    const w = await impRsa.wrapKey(alg, pt);
    check(Buffer.compare(Buffer.from((await impRsa.unwrapKey(alg, w.result)).result), pt) === 0, `${alg}: wrap round trip`);
  }
  await rejects(rsa.decrypt({ algorithm: "RSA-OAEP", ciphertext: crypto.randomBytes(256) }), 400, "BadParameter",
    undefined, "a ciphertext that does not decrypt");

  step("oct: A256GCM and A256KW with an imported AES key, checked with node's AES; azkmd's own key round trips");
  const aes = client.getCryptographyClient("imp-aes");
  const aad = Buffer.from("header");
  const g = await aes.encrypt({ algorithm: "A256GCM", plaintext: pt, additionalAuthenticatedData: aad });
  const dec = crypto.createDecipheriv("aes-256-gcm", imp.aes, g.iv);
  dec.setAAD(aad);
  dec.setAuthTag(g.authenticationTag);
  check(Buffer.compare(Buffer.concat([dec.update(g.result), dec.final()]), pt) === 0, "node decrypts azkmd's A256GCM");
  const iv = crypto.randomBytes(12);
  const enc = crypto.createCipheriv("aes-256-gcm", imp.aes, iv);
  const ct = Buffer.concat([enc.update(pt), enc.final()]);
  const back = await aes.decrypt({ algorithm: "A256GCM", ciphertext: ct, iv, authenticationTag: enc.getAuthTag() });
  check(Buffer.compare(Buffer.from(back.result), pt) === 0, "azkmd decrypts node's A256GCM");
  const kwIv = Buffer.from("A6A6A6A6A6A6A6A6", "hex");
  const w = await aes.wrapKey("A256KW", pt);
  const kw = crypto.createCipheriv("id-aes256-wrap", imp.aes, kwIv);
  check(Buffer.compare(Buffer.from(w.result), Buffer.concat([kw.update(pt), kw.final()])) === 0, "A256KW as node wraps");
  check(Buffer.compare(Buffer.from((await aes.unwrapKey("A256KW", w.result)).result), pt) === 0, "A256KW unwrap");
  const own = client.getCryptographyClient("aes");
  const og = await own.encrypt({ algorithm: "A256GCM", plaintext: pt });
  const od = await own.decrypt({ algorithm: "A256GCM", ciphertext: og.result, iv: og.iv, authenticationTag: og.authenticationTag });
  check(Buffer.compare(Buffer.from(od.result), pt) === 0, "A256GCM round trip with a created oct key");
}

async function random() {
  step("getRandomBytes: a Managed HSM action no Key Vault role grants: 403 naming it");
  await rejects(client.getRandomBytes(16), 403, "Forbidden", "Microsoft.KeyVault/managedHsm/rng/action", "getRandomBytes");
}

c.main(async () => {
  const k = await create();
  const imp = await importKeys();
  k.rotated = await read(k);
  await update(k);
  await signatures(k, imp);
  await encryption(k, imp);
  await rotationPolicy();
  await lifecycle();
  await backup(k);
  await random();
});
