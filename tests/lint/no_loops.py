#!/usr/bin/env python3
"""lint_no_loops: the file-level call graph of each program has no loops, and keystore/'s files use only their
own folder and the folders below it (LAYERS). An edge a.c -> b.c when a's object file uses a symbol b's defines.

usage: no_loops.py --build-dir B --program NAME 'a.c.o;b.c.o;...' [--program ...]
A program's object list is every object file linked into it (for the CLI: its own and the keystore library's).
"""
import argparse
import collections
import os
import re
import subprocess
import sys

# keystore/'s folders from the bottom up. A file may use files of its own folder and of the rows before its own in
# this list, never of a row after it (a folder "above" its own). Folders on one row are side by side: neither may
# use the other (the tiers know nothing of each other; what they share lives in tiers/ itself, below both). A
# file's folder is the longest entry its path starts with (tiers/pkcs11/p11_module.c is in tiers/pkcs11,
# tiers/tier.c in tiers); an entry ending in .c is that one file; a file in no entry is reported. To let the two tiers use each other, replace their row by ["tiers"] and drop the row above it.
LAYERS = [
    ["base"],
    ["material"],
    ["catalog"],
    ["tiers"],
    ["tiers/software", "tiers/pkcs11", "tiers/remote"],
    ["tiers/factory.c"],
    ["vault"],
    ["rbac"],
    ["keys"],
    ["byok"],
    ["envelope"],
]
LIBRARY = "keystore/"

# nm -P types that define a symbol other object files can use (lower case ones are local to their file).
DEFINES = set("ABCDGRSTVWi")
USES = set("Uvw")


def source_name(build_dir, obj):
    """keystore/keys/key_admin.c for <build>/keystore/CMakeFiles/azkm_keystore.dir/keys/key_admin.c.o"""
    rel = os.path.relpath(obj, build_dir).replace(os.sep, "/")
    rel = re.sub(r"(^|/)CMakeFiles/[^/]+\.dir/", r"\1", rel)
    return rel[:-2] if rel.endswith(".o") else rel


def read_symbols(objs):
    """(defined symbol -> files defining it, file -> symbols it uses) over the object files."""
    defs, uses = collections.defaultdict(set), collections.defaultdict(set)
    for name, obj in objs.items():
        if not os.path.isfile(obj):
            print(f"lint_no_loops: object file {obj} is missing: build the tree first (cmake --build <build-dir>)")
            sys.exit(2)
        nm = subprocess.run(["nm", "-P", obj], capture_output=True, text=True)
        if nm.returncode != 0:
            print(f"lint_no_loops: nm -P {obj} failed: {nm.stderr.strip()}")
            sys.exit(2)
        for line in nm.stdout.splitlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            sym, kind = fields[0], fields[1]
            if kind in USES:
                uses[name].add(sym)
            elif kind in DEFINES:
                defs[sym].add(name)
    return defs, uses


def call_graph(files, defs, uses):
    """file -> {file it uses -> symbols}"""
    graph = {f: collections.defaultdict(set) for f in files}
    for f in files:
        for sym in uses[f]:
            for g in defs.get(sym, ()):
                if g != f:
                    graph[f][g].add(sym)
    return graph


def loops(graph):
    """The strongly connected components of more than one file (Tarjan's algorithm, without recursion)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, edges = work[-1]
            w = next(edges, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(frozenset(comp))
    return found


def folder_of(path):
    """(row in LAYERS, folder) of a keystore/ file, or None when no entry holds it. An entry ending in .c is one
    file (tiers/factory.c sits above the tiers it makes, in the folder they share)."""
    inner = path[len(LIBRARY):]
    best = None
    for row, folders in enumerate(LAYERS):
        for folder in folders:
            held = inner == folder if folder.endswith(".c") else inner.startswith(folder + "/")
            if held and (best is None or len(folder) > len(best[1])):
                best = (row, folder)
    return best


def folder_violations(graph):
    """One line for each keystore/ file using a file of a folder above its own, beside it, or outside keystore/."""
    found = []
    for a in sorted(graph):
        if not a.startswith(LIBRARY):
            continue
        fa = folder_of(a)
        if fa is None:
            found.append(f"{a} is in no folder of the LAYERS table in {os.path.basename(__file__)}")
            continue
        for b, syms in sorted(graph[a].items()):
            detail = ", ".join(sorted(syms))
            if not b.startswith(LIBRARY):
                found.append(f"{a} uses {b}, outside the library: {detail}")
                continue
            fb = folder_of(b)
            if fb is None or fb[1] == fa[1] or fb[0] < fa[0]:
                continue
            where = "above it" if fb[0] > fa[0] else "beside it"
            found.append(f"{a} ({fa[1]}/) uses {b} ({fb[1]}/, {where}): {detail}")
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--program", nargs=2, action="append", required=True, metavar=("NAME", "OBJECTS"),
                    help="a program and its object files, separated by ';'")
    args = ap.parse_args()

    seen_loops, layer_lines, failed = set(), [], False
    for prog, obj_list in args.program:
        objs = {source_name(args.build_dir, o): o for o in obj_list.split(";") if o}
        if not objs:
            print(f"lint_no_loops: {prog} has no object files")
            sys.exit(2)
        defs, uses = read_symbols(objs)
        graph = call_graph(objs, defs, uses)
        for comp in loops(graph):
            if comp in seen_loops:
                continue
            seen_loops.add(comp)
            failed = True
            print(f"{prog}: loop between {len(comp)} files: {' '.join(sorted(comp))}")
            for a in sorted(comp):
                for b, syms in sorted(graph[a].items()):
                    if b in comp:
                        print(f"    {a} -> {b}: {', '.join(sorted(syms))}")
        for line in folder_violations(graph):
            if line not in layer_lines:
                layer_lines.append(line)
    if layer_lines:
        failed = True
        print(f"keystore/ folder order broken (allowed, bottom up: {' < '.join('|'.join(r) for r in LAYERS)}):")
        for line in layer_lines:
            print(f"    {line}")
    if failed:
        print(f"lint_no_loops: FAILED: {len(seen_loops)} loop(s), {len(layer_lines)} folder-order violation(s)")
        return 1
    print("lint_no_loops: no loops; keystore/ folders in order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
