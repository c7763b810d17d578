// KeyClient over azkmd's Unix socket: a small HttpClient (the SDK's pipeline, policies and serialisation unchanged;
// only the transport is node's http.request with socketPath). The caller is this process's uid by peer credentials,
// which azkmd lets do everything (root, or azkmd's own uid): no challenge, the credential is never asked for a token.
// Covers what no built-in role grants over TLS: getRandomBytes. And the SDK's challenge protocol: a client's first
// request goes without its body (it expects Key Vault's 401 challenge and re-sends the body with a token); a caller
// azkmd knows without a token gets no challenge, so that first body is lost: prime a client with a GET.
"use strict";
const http = require("http");
const crypto = require("crypto");
const { createHttpHeaders } = require("@azure/core-rest-pipeline");
const { KeyClient } = require("@azure/keyvault-keys");
const c = require("./common.js");
const { check, step } = c;

function unixHttpClient(socketPath) {
  return {
    sendRequest(request) {
      const url = new URL(request.url);
      return new Promise((resolve, reject) => {
        const req = http.request({ socketPath, method: request.method, path: url.pathname + url.search,
          headers: { ...request.headers.toJSON(), host: url.host }, timeout: 10000 }, (res) => {
          const chunks = [];
          res.on("data", (d) => chunks.push(d));
          res.on("end", () => resolve({ request, status: res.statusCode,
            headers: createHttpHeaders(res.headers), bodyAsText: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.on("timeout", () => req.destroy(new Error("timeout")));
        if (request.body !== undefined && request.body !== null) req.write(request.body);
        req.end();
      });
    },
  };
}

const noToken = { getToken: async () => { throw new Error("a token was asked for over the Unix socket"); } };

c.main(async () => {
  const vault = new URL(c.vaultUrl).hostname;
  const options = { ...c.clientOptions, httpClient: unixHttpClient(c.env.AZKM_SDK_SOCKET) };
  step("a fresh client's first request has no body: getRandomBytes is 400 (count missing); after a GET it works");
  await c.rejects(new KeyClient(`http://${vault}`, noToken, options).getRandomBytes(8), 400, "BadParameter", "count",
    "getRandomBytes as the first request");
  const client = new KeyClient(`http://${vault}`, noToken, options);
  await client.listPropertiesOfKeys().byPage().next();
  step("over the Unix socket: getRandomBytes, createEcKey and sign (verified by node), a list followed by nextLink");
  const a = await client.getRandomBytes(32);
  const b = await client.getRandomBytes(32);
  check(a.length === 32 && b.length === 32 && Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0, "random bytes");
  const key = await client.createEcKey("unix-ec", { curve: "P-256", hsm: c.env.AZKM_SDK_TIER === "hsm" });
  check(key.id.startsWith(`http://${vault}/keys/unix-ec/`), `key id ${key.id}`);
  const data = Buffer.from("over the socket");
  const s = await client.getCryptographyClient("unix-ec").sign("ES256", crypto.createHash("sha256").update(data).digest());
  const pub = crypto.createPublicKey({ key: c.nodeJwk(key.key), format: "jwk" });
  check(crypto.verify("sha256", data, { key: pub, dsaEncoding: "ieee-p1363" }, s.result), "node verifies");
  let n = 0;
  for await (const page of client.listPropertiesOfKeys().byPage({ maxPageSize: 1 })) n += page.length;
  check(n >= 2, `listed ${n} keys one per page`);
});
