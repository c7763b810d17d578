#!/usr/bin/env python3
"""jwk_from_pem.py PEM [kty]: prints the private JWK of an RSA or EC (P-256/384/521) PEM key, read from
`openssl pkey -text` alone (the test's independent path from a key file to Key Vault's import body)."""
import base64
import json
import re
import subprocess
import sys


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sections(text):
    """name -> bytes of each hex block of `openssl pkey -text` (modulus:, privateExponent:, priv:, pub:, ...)."""
    out, name, buf = {}, None, []
    for line in text.splitlines():
        m = re.match(r"^(\w+):\s*(\S*)$", line)
        if m and not re.match(r"^[0-9a-f:]+$", line.strip()):
            if name:
                out[name] = bytes.fromhex("".join(buf).replace(":", ""))
            name, buf = m.group(1), []
            continue
        if name and re.match(r"^\s+[0-9a-f:]+$", line):
            buf.append(line.strip())
    if name:
        out[name] = bytes.fromhex("".join(buf).replace(":", ""))
    m = re.search(r"publicExponent: \d+ \(0x([0-9a-f]+)\)", text)
    if m:
        h = m.group(1)
        out["publicExponent"] = bytes.fromhex(h if len(h) % 2 == 0 else "0" + h)
    m = re.search(r"NIST CURVE: (P-\d+)", text)
    if m:
        out["crv"] = m.group(1)
    return out


def strip(b):
    return b.lstrip(b"\0") or b"\0"


def main():
    text = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-text", "-noout"], capture_output=True,
                          text=True, check=True).stdout
    s = sections(text)
    if "modulus" in s:
        names = [("n", "modulus"), ("e", "publicExponent"), ("d", "privateExponent"), ("p", "prime1"),
                 ("q", "prime2"), ("dp", "exponent1"), ("dq", "exponent2"), ("qi", "coefficient")]
        jwk = {"kty": "RSA"}
        for j, o in names:
            jwk[j] = b64url(strip(s[o]))
    else:
        size = {"P-256": 32, "P-384": 48, "P-521": 66}[s["crv"]]
        pub = s["pub"]
        jwk = {"kty": "EC", "crv": s["crv"], "x": b64url(pub[1:1 + size]), "y": b64url(pub[1 + size:]),
               "d": b64url(strip(s["priv"]).rjust(size, b"\0"))}
    print(json.dumps(jwk))


main()
