#!/usr/bin/env python3
"""The files the docs cite exist: every `path` in backquotes and every relative link of README.md and docs/*.md
that names a file of this tree (a name with a known extension) must be in the tree, found from the repository root,
from the doc's own folder, or (for names like `keys/records.h` or `catalog.c` in a folder's description) as the
end of a path in the tree. Absolute paths (/etc/..., installed files) and the few names of other projects listed
in FOREIGN are not checked.

  doc_paths.py SOURCE_DIR DOC...
"""
import os
import re
import subprocess
import sys

EXT = r"(?:c|h|sh|py|md|cnf|conf|tsv|cmake|env|service|timer|map|supp|json|png)"
CITED = re.compile(r"`([A-Za-z0-9_.][A-Za-z0-9_./-]*\." + EXT + r")`|\]\(([A-Za-z0-9_.][A-Za-z0-9_./-]*\." + EXT + r")(?:#[^)]*)?\)")
# names of files in other projects that the docs cite as such, files a keystore holds (remote.json), and
# placeholders (P: any install prefix)
FOREIGN = {"remote.json", "tools/uri2pem.py", "azkm.conf", "apache2.service", "openssl.cnf", "softhsm2.conf", "nginx.conf",
           "P/etc/azkm/azkm-provider.cnf"}


def main():
    src, docs = sys.argv[1], sys.argv[2:]
    files = subprocess.run(["git", "-C", src, "ls-files", "-co", "--exclude-standard"], capture_output=True, text=True).stdout.split()
    if not files:  # not a git checkout (a source tarball): walk the tree
        files = [os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs]
    tree = set(files)
    bad = []
    for doc in docs:
        here = os.path.dirname(doc)
        for n, line in enumerate(open(os.path.join(src, doc), encoding="utf-8"), 1):
            for m in CITED.finditer(line):
                p = m.group(1) or m.group(2)
                if p in FOREIGN or p.startswith("/"):
                    continue
                cands = {os.path.normpath(p), os.path.normpath(os.path.join(here, p))}
                if cands & tree or any(f.endswith("/" + p) for f in tree):
                    continue
                bad.append(f"{doc}:{n}: cites {p}, which is not in the tree")
    for b in bad:
        print(f"FAIL: {b}", file=sys.stderr)
    print(f"doc_paths: {len(docs)} docs, {len(bad)} missing files")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
