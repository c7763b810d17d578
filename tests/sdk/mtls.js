// KeyClient with a TLS client certificate (the SDK's tlsOptions) registered to a service principal with
// `azkm sp create --cert` and assigned Key Vault Crypto Officer: the certificate is the caller, no token. As over
// the Unix socket, the SDK's first request goes without its body (it expects a 401 challenge that azkmd, knowing the
// caller, does not send): a fresh client's create is 400; after a GET, creates and signs work.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const { KeyClient } = require("@azure/keyvault-keys");
const c = require("./common.js");
const { check, step } = c;

const noToken = { getToken: async () => { throw new Error("a token was asked for with a client certificate"); } };

c.main(async () => {
  const options = { ...c.clientOptions, tlsOptions: { cert: fs.readFileSync(c.env.AZKM_SDK_CLIENT_CERT),
    key: fs.readFileSync(c.env.AZKM_SDK_CLIENT_KEY) } };
  step("a client certificate: a fresh client's first request has no body (create is 400); after a GET it works");
  await c.rejects(new KeyClient(c.vaultUrl, noToken, options).createEcKey("mtls-ec"), 400, "BadParameter", undefined,
    "create as the first request");
  const client = new KeyClient(c.vaultUrl, noToken, options);
  await client.listPropertiesOfKeys().byPage().next();
  const key = await client.createEcKey("mtls-ec", { curve: "P-256", hsm: c.env.AZKM_SDK_TIER === "hsm" });
  const data = Buffer.from("with a client certificate");
  const s = await client.getCryptographyClient("mtls-ec").sign("ES256", crypto.createHash("sha256").update(data).digest());
  const pub = crypto.createPublicKey({ key: c.nodeJwk(key.key), format: "jwk" });
  check(crypto.verify("sha256", data, { key: pub, dsaEncoding: "ieee-p1363" }, s.result), "node verifies");
});
