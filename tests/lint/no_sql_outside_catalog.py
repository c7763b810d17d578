#!/usr/bin/env python3
"""lint_no_sql_outside_catalog: SQLite belongs to keystore/catalog/ alone: no other file of keystore/ includes
sqlite3.h or names an SQLite identifier (sqlite3*, SQLITE_*) in its code (comments and strings are not read).

usage: no_sql_outside_catalog.py --source-dir S
"""
import argparse
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import lintlib  # noqa: E402

LIBRARY = "keystore"
CATALOG = "keystore/catalog/"
SQLITE_NAME = re.compile(r"\b(sqlite3\w*|SQLITE_\w+)")
SQLITE_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]sqlite3\.h[>"]', re.M)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()

    bad, per_file = [], {}
    for rel in lintlib.c_files(args.source_dir, [LIBRARY]):
        if rel.replace("\\", "/").startswith(CATALOG):
            continue
        raw = lintlib.read(args.source_dir, rel)
        with_strings = lintlib.blank_c(raw, keep_strings=True).split("\n")
        for i, line in enumerate(lintlib.blank_c(raw).split("\n")):
            names = sorted(set(SQLITE_NAME.findall(line)))
            if SQLITE_INCLUDE.match(with_strings[i]):
                names = ["#include sqlite3.h"]
            if names:
                bad.append(f"{rel}:{i + 1}: {', '.join(names)}")
                per_file[rel] = per_file.get(rel, 0) + 1
    for b in bad:
        print(b)
    if bad:
        print(f"lint_no_sql_outside_catalog: FAILED: SQLite on {len(bad)} line(s) of {len(per_file)} file(s) outside "
              f"{CATALOG}: {', '.join(f'{f} ({n})' for f, n in sorted(per_file.items()))}")
        return 1
    print(f"lint_no_sql_outside_catalog: no SQLite in {LIBRARY}/ outside {CATALOG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
