// Preloaded with `node -r` by run.sh: host names under .localhost resolve to 127.0.0.1, as RFC 6761 has it and as
// curl and browsers do, but glibc's resolver (and so node's dns.lookup) does not without nss-myhostname. The SDK
// then reaches azkmd's TLS listener at https://<vault>.vault.azkm.localhost:<port>, the addressing a deployment
// uses with wildcard DNS: the Host header selects the vault, the key ids and nextLinks azkmd returns resolve, and
// the SDK's check of the challenge resource (vault host under the resource's host) runs as in production.
"use strict";
const dns = require("dns");
const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  if (typeof hostname === "string" && /(^|\.)localhost\.?$/i.test(hostname)) {
    const opts = typeof options === "number" ? { family: options } : options || {};
    if (opts.all) return process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
    return process.nextTick(callback, null, "127.0.0.1", 4);
  }
  return lookup.call(this, hostname, options, callback);
};
