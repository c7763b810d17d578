#!/usr/bin/env python3
"""Splits the instructions per operation of an azkm-bench callgrind profile (--toggle-collect=worker_main) into the
private-key operation proper and everything around it (EVP, the provider, the keystore, hashing, sessions):
  libcrypto (paths default, azkm-sw): RSA_private_encrypt, RSA_private_decrypt, ECDSA_do_sign_ex, inclusive;
  PKCS#11 (every other path): C_SignInit + C_Sign (+ C_SignUpdate + C_SignFinal), C_DecryptInit + C_Decrypt.
The second part is what a client of the same key can change; it does not depend on RSA blinding or ECDSA nonces,
so it compares paths to within a few instructions where the totals differ by up to 0.5 % from run to run.
Prints "<ops> <instructions per op> <primitive per op> <overhead per op>"."""
import re
import subprocess
import sys

PKCS11 = ("C_SignInit", "C_Sign", "C_SignUpdate", "C_SignFinal", "C_DecryptInit", "C_Decrypt")
LIBCRYPTO = ("RSA_private_encrypt", "RSA_private_decrypt", "ECDSA_do_sign_ex")

here = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
ops = int(subprocess.run([sys.executable, here + "/callgrind_per_op.py", sys.argv[1]], capture_output=True,
                         text=True, check=True).stdout.split()[0])
out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--auto=no", sys.argv[1]],
                     capture_output=True, text=True, check=True).stdout
inclusive, total = {}, 0
for line in out.split("\n"):
    m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(\S+)", line)
    if not m:
        continue
    cost = int(m.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in line:
        total = cost
        continue
    fn = m.group(2).split(":")[-1]
    inclusive[fn] = max(inclusive.get(fn, 0), cost)
names = PKCS11 if any(n in inclusive for n in PKCS11) else LIBCRYPTO
primitive = sum(inclusive.get(n, 0) for n in names)
if ops == 0:
    print(0, 0, 0, 0)
else:
    print(ops, total // ops, primitive // ops, (total - primitive) // ops)
