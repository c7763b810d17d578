#!/usr/bin/env python3
"""lint_private_headers: cli/, provider/ and server/ include only the keystore library's public headers ("azkm/..."
or <azkm/...>, from keystore/include/) and headers of their own program's folder (server/'s files name theirs from
server/, e.g. "api/request.h"); never internal.h nor any other header of keystore/, nor a header of another folder
of the tree.

usage: private_headers.py --source-dir S [folder ...]
"""
import argparse
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import lintlib  # noqa: E402

FOLDERS = ["cli", "provider", "server"]
PUBLIC = "keystore/include"
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def inside(path, folder):
    return path == folder or path.startswith(folder + "/")


def verdict(root, rel, kind, name):
    """Why this include is not allowed, or None when it is."""
    folder = os.path.dirname(rel)
    public = os.path.join(PUBLIC, name)
    if name.startswith("azkm/"):
        if os.path.isfile(os.path.join(root, public)):
            return None
        return f"{name} is not a public header of the library (none in {PUBLIC}/azkm/)"
    if os.path.basename(name) == "internal.h":
        return f"{name} is the library's private header"
    if kind == '"':
        local = os.path.normpath(os.path.join(folder, name))
        if inside(local, folder) and os.path.isfile(os.path.join(root, local)):
            return None
        program = rel.split("/")[0]
        from_top = os.path.normpath(os.path.join(program, name))
        if folder != program and inside(from_top, program) and os.path.isfile(os.path.join(root, from_top)):
            return None
        return f'"{name}" is not a header of {folder}/ (only "azkm/..." and {folder}/\'s own headers)'
    # <...>: a system or package header, unless it names a file of keystore/ outside its public include folder.
    private = os.path.join("keystore", name)
    if os.path.isfile(os.path.join(root, private)) and not inside(os.path.normpath(private), PUBLIC):
        return f"<{name}> is the library's private header {private}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("folders", nargs="*", default=FOLDERS)
    args = ap.parse_args()

    bad, count = [], 0
    for rel in lintlib.c_files(args.source_dir, args.folders):
        text = lintlib.blank_c(lintlib.read(args.source_dir, rel), keep_strings=True)
        for m in INCLUDE.finditer(text):
            count += 1
            why = verdict(args.source_dir, rel, m.group(1), m.group(2))
            if why:
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{rel}:{line}: {why}")
    for b in bad:
        print(b)
    if bad:
        print(f"lint_private_headers: FAILED: {len(bad)} include(s) of private headers in {', '.join(args.folders)}")
        return 1
    print(f"lint_private_headers: {count} includes in {', '.join(args.folders)}, all public or their folder's own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
