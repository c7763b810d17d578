#!/usr/bin/env python3
"""Instructions per request from a callgrind profile of azkmd (--toggle-collect=azkmd_api_handle) or of
azkmd-bench's in-process loop (--toggle-collect=inproc_op): the collected total divided by the calls of the
collected function, then the inclusive instructions per request of each further function named.
Usage: callgrind_azkmd.py <callgrind.out> <collected function> [function...]"""
import re
import subprocess
import sys

out, top, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(out, encoding="utf-8", errors="replace").read()
names, calls = {}, 0
lines = text.split("\n")
for line in lines:
    m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
    if m and m.group(2):
        names[m.group(1)] = m.group(2)
ids = [k for k, v in names.items() if v == top]
for i, line in enumerate(lines[:-1]):
    m = re.match(r"cfn=\((\d+)\)", line)
    if m and m.group(1) in ids:
        c = re.match(r"calls=(\d+)", lines[i + 1])
        if c:
            calls += int(c.group(1))
total = next(int(l.split()[1]) for l in lines if l.startswith(("summary:", "totals:")))
ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out], capture_output=True,
                     text=True).stdout
print(f"{top}: {calls} calls, {total // max(calls, 1)} instructions per call")
for p in parts:
    best = 0
    for l in ann.split("\n"):
        m = re.match(r"\s*([\d,]+) .*[:/ ]" + re.escape(p) + r"( |$)", l)
        if m:
            best = max(best, int(m.group(1).replace(",", "")))
    print(f"  {p}: {best // max(calls, 1)} per call")
