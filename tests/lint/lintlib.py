"""Shared helpers of the structural checks in tests/lint/: finding the C files of a folder and blanking out
comments and literals so that a check reads only code (line and column numbers are kept)."""
import os
import sys


def c_files(root, folders, exts=(".c", ".h")):
    """Every C file under root/folder for each folder, as paths relative to root, sorted."""
    found = []
    for folder in folders:
        top = os.path.join(root, folder)
        if not os.path.isdir(top):
            fail_usage(f"{top} is not a folder (is --source-dir the top of the azkm tree?)")
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in filenames:
                if name.endswith(exts):
                    found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def blank_c(text, keep_strings=False):
    """text with every comment (and, unless keep_strings, every string and character literal's contents)
    replaced by spaces; newlines stay, so line and column numbers are unchanged."""
    out = list(text)
    i, n = 0, len(text)

    def blank(start, end):
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if not keep_strings:
                blank(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def fail_usage(message):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(2)
