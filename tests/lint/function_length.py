#!/usr/bin/env python3
"""lint_function_length: no production function (keystore/, provider/, cli/) has more than MAX_LINES body lines,
counted strictly between its opening and closing braces. Relies on the clang-format style (BreakBeforeBraces:
Linux, checked by lint_format): a function's `{` is alone on a line at column 0 and its `}` starts a line at
column 0; nothing else in a file does that.

usage: function_length.py --source-dir S [--max-lines N] [folder ...]
"""
import argparse
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import lintlib  # noqa: E402

MAX_LINES = 100
FOLDERS = ["keystore", "provider", "cli", "server"]
NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")
ATTRIBUTE = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")


def function_name(lines, brace):
    """The name in the signature just above line index `brace`: the lines back to a blank one or to the end of the
    previous declaration (comments are blank by now)."""
    start = brace
    while start > 0:
        prev = lines[start - 1].strip()
        if not prev or prev.endswith((";", "}")) or prev.startswith("#"):
            break
        start -= 1
    m = NAME.search(ATTRIBUTE.sub(" ", " ".join(lines[start:brace])))
    return m.group(1) if m else None


def functions(text):
    """(name, line of `{` counted from 1, body lines) for every function in the text; a ValueError when a body's
    braces cannot be matched, so that a change of style fails the check instead of hiding a function."""
    lines = lintlib.blank_c(text).split("\n")
    found, open_at = [], None
    for i, line in enumerate(lines):
        if line.rstrip() == "{":
            if open_at is not None:
                raise ValueError(f"line {i + 1}: a `{{` at column 0 inside the function opened at line {open_at + 1}")
            open_at = i
        elif line.startswith("}") and open_at is not None:
            name = function_name(lines, open_at)
            if name is None:
                raise ValueError(f"line {open_at + 1}: no function name above this `{{`")
            found.append((name, open_at + 1, i - open_at - 1))
            open_at = None
    if open_at is not None:
        raise ValueError(f"line {open_at + 1}: this `{{` is never closed by a `}}` at column 0")
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--max-lines", type=int, default=MAX_LINES)
    ap.add_argument("folders", nargs="*", default=FOLDERS)
    args = ap.parse_args()

    offenders, errors, count, longest = [], [], 0, None
    for rel in lintlib.c_files(args.source_dir, args.folders):
        try:
            found = functions(lintlib.read(args.source_dir, rel))
        except ValueError as e:
            errors.append(f"{rel}: {e}")
            continue
        for name, line, length in found:
            count += 1
            if longest is None or length > longest[2]:
                longest = (f"{rel}:{line}", name, length)
            if length > args.max_lines:
                offenders.append((length, f"{rel}:{line}", name))
    for e in errors:
        print(f"cannot read the functions of {e} (is the file clang-formatted?)")
    for length, where, name in sorted(offenders, reverse=True):
        print(f"{where}: {name}() has {length} lines (limit {args.max_lines})")
    if longest:
        print(f"{count} functions in {', '.join(args.folders)}; longest: {longest[1]}() at {longest[0]}, "
              f"{longest[2]} lines")
    if offenders or errors or count == 0:
        print(f"lint_function_length: FAILED: {len(offenders)} function(s) over {args.max_lines} lines"
              + (f", {len(errors)} file(s) unreadable" if errors else "")
              + ("; no functions found" if count == 0 else ""))
        return 1
    print(f"lint_function_length: every function within {args.max_lines} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
