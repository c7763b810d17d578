#!/usr/bin/env python3
"""Instructions per operation from a callgrind output of azkm-bench run with --toggle-collect=worker_main:
the collected total divided by the number of calls to do_op. Prints "<ops> <instructions per op>"."""
import re
import sys

names, calls, total = {}, 0, None
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")
for line in lines:
    m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
    if m and m.group(2):
        names[m.group(1)] = m.group(2)
    if line.startswith(("summary:", "totals:")):
        total = int(line.split()[1])
do_op = [k for k, v in names.items() if v.startswith("do_op")]
for i, line in enumerate(lines[:-1]):
    m = re.match(r"cfn=\((\d+)\)", line)
    if m and m.group(1) in do_op:
        c = re.match(r"calls=(\d+)", lines[i + 1])
        if c:
            calls += int(c.group(1))
print(calls, total // calls if calls else 0)
