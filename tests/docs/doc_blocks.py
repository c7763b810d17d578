#!/usr/bin/env python3
"""Runs the command blocks of the docs as written (tests/docs/README in the docstring below).

Every fenced block whose info string is empty, `sh` or `bash` is a command block and needs a marker on the line
before its fence:

  <!-- doc-test: run -->                 run with bash -euo pipefail, in the doc's sandbox (below)
  <!-- doc-test: run fixture=NAME -->    the same, after the fixture NAME (FIXTURES) ran in the sandbox
  <!-- doc-test: covered PATH -->        not run here: PATH (a test or CI script that exists) runs these steps
  <!-- doc-test: illustrative -->        not run: placeholders, system-wide changes, or output shown

Blocks that are not commands carry another info string (text, ini, nginx, json). The sandbox of a doc is one
temporary directory, the cwd of its blocks, run in order: azkm and the provider from the build tree on PATH and
OPENSSL_MODULES, OPENSSL_CONF=conf/azkm-provider.cnf, a keystore of its own (AZKM_KEYSTORE_DIR), HOME in it.
A marker missing, a covered PATH absent or a runnable block failing fails the test.

  doc_blocks.py SOURCE_DIR BUILD_DIR DOC...
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FIXTURES = {
    # provider.md: a vault "prod" with an RSA key "web", a data file and a SHA-256 digest of it
    "prod-web": "azkm vault create --name prod >/dev/null\n"
    "azkm key create --vault-name prod --name web --kty RSA --size 2048 >/dev/null\n"
    "echo hello >data\nopenssl dgst -sha256 -binary data >digest.bin\n",
}
MARKER = re.compile(r"^<!-- doc-test: (run(?: fixture=(\S+))?|covered (\S+)|illustrative) -->$")


def blocks(path):
    """(line, info, marker, text) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, info = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        marker = lines[start - 1] if start > 0 else ""
        out.append((start + 1, info, marker, "\n".join(lines[start + 1:j]) + "\n"))
        i = j + 1
    return out


def run_doc(src, build, doc):
    errors, ran = [], 0
    sandbox = tempfile.mkdtemp(prefix="azkm-doc-")
    env = dict(os.environ)
    env.update(PATH=f"{build}/cli:{env['PATH']}", OPENSSL_MODULES=f"{build}/provider",
               OPENSSL_CONF=f"{src}/conf/azkm-provider.cnf", AZKM_KEYSTORE_DIR=f"{sandbox}/keystore",
               HOME=sandbox, AZKM_CONF="/dev/null")
    fixtures_done = set()
    try:
        for line, info, marker, text in blocks(os.path.join(src, doc)):
            if info not in ("", "sh", "bash"):
                continue
            m = MARKER.match(marker)
            where = f"{doc}:{line}"
            if not m:
                errors.append(f"{where}: command block without a <!-- doc-test: ... --> marker")
                continue
            if m.group(3):
                if not os.path.exists(os.path.join(src, m.group(3))):
                    errors.append(f"{where}: covered by {m.group(3)}, which does not exist")
                continue
            if not m.group(1).startswith("run"):
                continue
            script = ""
            fixture = m.group(2)
            if fixture and fixture not in fixtures_done:
                script += FIXTURES[fixture]
                fixtures_done.add(fixture)
            script += text
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=sandbox, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
            ran += 1
            if r.returncode != 0:
                errors.append(f"{where}: block exited {r.returncode}:\n{text}--- stderr:\n{r.stderr.decode(errors='replace')[-2000:]}")
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)
    return errors, ran


def main():
    src, build, docs = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    failed = False
    for doc in docs:
        errors, ran = run_doc(src, build, doc)
        for e in errors:
            print(f"FAIL: {e}", file=sys.stderr)
        failed |= bool(errors)
        print(f"{doc}: {ran} runnable blocks ran, {len(errors)} problems")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
