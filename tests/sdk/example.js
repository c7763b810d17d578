// The JavaScript example of docs/server.md ("Using the Azure SDK"), as written: the first ```js block of that
// section, run by node (with localhost.js preloaded) against run.sh's azkmd as the Crypto Officer principal, the
// URLs of this azkmd's port given in the environment variables the example reads. It must print the key id and true.
"use strict";
const fs = require("fs");
const path = require("path");
const os = require("os");
const { execFileSync } = require("child_process");
const c = require("./common.js");
const { check, step } = c;

c.main(async () => {
  const doc = fs.readFileSync(c.env.AZKM_SDK_DOCS, "utf8");
  const section = doc.split("\n## Using the Azure SDK\n")[1];
  check(section !== undefined, "docs/server.md has no section 'Using the Azure SDK'");
  const m = section.split("\n## ")[0].match(/\n```js\n([\s\S]*?)\n```\n/);
  check(m !== null, "the section has no ```js block");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "azkm-sdk-example."));
  const file = path.join(dir, "sign.js");
  fs.writeFileSync(file, m[1] + "\n");
  const officer = c.principals.find((p) => p.role === "Key Vault Crypto Officer");
  step("node sign.js (docs/server.md)");
  let out;
  try {
    out = execFileSync(process.execPath, ["-r", path.join(__dirname, "localhost.js"), file], {
      env: { ...process.env, AZKM_VAULT_URL: c.vaultUrl, AZKM_AUTHORITY: c.env.AZKM_SDK_AUTHORITY,
        AZKM_CLIENT_ID: officer.appId, AZKM_CLIENT_SECRET: officer.password },
      encoding: "utf8",
      timeout: 60000,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(out);
  const want = new RegExp(`^${c.vaultUrl.replace(/[.]/g, "\\.")}/keys/app-signing/[0-9a-f]{32} true\n$`);
  check(want.test(out), `the example printed '${out}'`);
});
