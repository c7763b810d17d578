#!/usr/bin/env python3
"""Runs the command blocks of the docs as written, in a sandbox, and fails when one stops working.

Every fenced block whose info string is empty, `sh` or `bash` is a command block and needs a marker on the line
before its fence (output and transcripts are `text` blocks, configuration `ini`, `nginx`, ...):

  <!-- doc-test: run [fixture=NAME] [when=TAG] -->
      run with bash -euo pipefail; all run blocks of a doc run in order in ONE shell session, as a reader types
      them (variables, `set -a; . file`, cwd carry over); fixture NAME (FIXTURES) runs once before the block;
      when=TAG: only in the passes of the doc that name TAG (below)
  <!-- doc-test: server port=PORT [when=TAG] -->
  <!-- doc-test: server ready="TEXT" [when=TAG] -->
      a command that serves until stopped: started in the background, must listen on PORT (or print a line
      holding TEXT, on stdout or stderr: for a server on a Unix socket) within 10 s, stopped when the pass ends
      (a port=PORT block is skipped with a note when not in a network namespace and PORT is taken)
  <!-- doc-test: covered PATH[,PATH...] -->
      not run here: the files PATH (tests or CI scripts) run exactly these commands. Checked: every command line
      of the block (comments, `sudo ` and lines with <placeholders> aside) occurs in one of the PATHs, where
      "$VAR/" prefixes and quotes are ignored
  <!-- doc-test: illustrative: REASON -->
      not run, for REASON (required): it cannot run on a CI machine

A marker missing, a reason missing, a covered PATH absent or not holding the text, a runnable block failing, or a
run block that none of the doc's passes runs fails the test.

Sandboxes. A doc runs in a fresh temporary directory (its cwd and HOME) with azkm, azkmd and azkm.so from the build
tree on PATH and OPENSSL_MODULES, OPENSSL_CONF=conf/azkm-provider.cnf, AZKM_KEYSTORE_DIR in the sandbox; as root, in a
network namespace of its own (the ports the docs show are free). `--system` docs (keyless-tls.md: root, /etc,
/var, systemctl) run in mount, network and PID namespaces (unshare) where /etc, /var, /run, /usr and the source
tree are overlays on a tmpfs: the build is installed with `cmake --install BUILD --prefix /usr` (the documented
alternative to the package), the blocks run as root with the source tree as cwd and only system paths on PATH,
`systemctl` is a small stand-in (no systemd on CI: it starts nginx with the EnvironmentFile= of its drop-ins, and
Apache through apachectl, as their units do), and everything, servers included, ends with the namespace.

  doc_blocks.py [--system] SOURCE_DIR BUILD_DIR DOC[:TAG+TAG...]...
"""
import os
import re
import shlex
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
MARKER = re.compile(r"^<!-- doc-test: (run|server|covered|illustrative)(.*?) -->$")
HERE = os.path.dirname(os.path.abspath(__file__))


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


def options(rest):
    return dict(kv.split("=", 1) for kv in shlex.split(rest) if "=" in kv)


def normalise(s):
    s = re.sub(r'"?\$\{?\w+\}?/', "", s)
    return " ".join(s.replace('"', "").replace("'", "").split())


def check_covered(src, paths, text):
    """An error message, or None when every command line of text occurs in one of paths."""
    bodies = []
    for p in paths.split(","):
        if not os.path.isfile(os.path.join(src, p)):
            return f"covered by {p}, which does not exist"
        bodies.append(normalise(open(os.path.join(src, p), encoding="utf-8").read()))
    for line in text.split("\n"):
        cmd = normalise(re.sub(r"(^|\s)#.*$", "", line).strip())
        cmd = re.sub(r"^sudo ", "", cmd)
        if not cmd or re.search(r"<[^>]+>", cmd):
            continue
        if not any(cmd in b for b in bodies):
            return f"covered by {paths}, but none of them runs '{cmd}'"
    return None


def plan(src, doc, tags):
    """(errors, steps): steps are (line, kind, opts, script) of the blocks this pass runs."""
    errors, steps, fixtures = [], [], set()
    for line, info, marker, text in blocks(os.path.join(src, doc)):
        if info not in ("", "sh", "bash"):
            continue
        where = f"{doc}:{line}"
        m = MARKER.match(marker)
        if not m:
            errors.append(f"{where}: command block without a <!-- doc-test: ... --> marker")
            continue
        kind, rest = m.group(1), m.group(2)
        if kind == "illustrative":
            if not re.match(r"^: \S", rest):
                errors.append(f"{where}: 'illustrative' needs a reason: <!-- doc-test: illustrative: WHY -->")
            continue
        if kind == "covered":
            e = check_covered(src, rest.strip(), text)
            if e:
                errors.append(f"{where}: {e}")
            continue
        opts = options(rest)
        if "when" in opts and opts["when"] not in tags:
            continue
        script = ""
        if opts.get("fixture") and opts["fixture"] not in fixtures:
            script = FIXTURES[opts["fixture"]]
            fixtures.add(opts["fixture"])
        if kind == "server" and not opts.get("port", "").isdigit() and not opts.get("ready"):
            errors.append(f"{where}: a server block needs port=PORT or ready=\"TEXT\"")
            continue
        steps.append((line, kind, opts, script + text))
    return errors, steps


def driver(sb, steps, cwd):
    """The shell session of a pass: each block sourced in order, the current block's line in $sb/current."""
    out = ["set -euo pipefail", f"cd {shlex.quote(cwd)}", "servers=()",
           "trap 'for p in \"${servers[@]}\"; do kill $(pgrep -P $p) $p 2>/dev/null || true; done' EXIT"]
    for n, (line, kind, opts, script) in enumerate(steps):
        path = f"{sb}/block{n}.sh"
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
        out.append(f"echo {line} >{sb}/current")
        if kind == "run":
            out.append(f". {path}")
            continue
        if "port" not in opts:
            out += server_ready(sb, n, path, opts["ready"])
            continue
        port = opts["port"]
        out += [f"if [ -z \"${{AZKM_DOC_NETNS:-}}\" ] && (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then",
                f"  echo \"note: block {line} not run: port {port} is taken\" >&2",
                "else",
                f"  mkfifo {sb}/stdin{n} && exec {{held}}<>{sb}/stdin{n}   # a terminal's stdin: never at its end",
                f"  (. {path}) <&$held >{sb}/server{n}.log 2>&1 &",
                "  servers+=($!)",
                "  for _ in $(seq 100); do",
                f"    (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break",
                f"    kill -0 $! 2>/dev/null || {{ cat {sb}/server{n}.log >&2; exit 1; }}",
                "    sleep 0.1",
                "  done",
                f"  (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null || {{ echo 'nothing listens on {port}' >&2; exit 1; }}",
                "fi"]
    out.append(f"echo done >{sb}/current")
    return "\n".join(out) + "\n"


def server_ready(sb, n, path, text):
    """Driver lines for a server block that is ready once its output holds text."""
    log, q = f"{sb}/server{n}.log", shlex.quote(text)
    return [f"mkfifo {sb}/stdin{n} && exec {{held}}<>{sb}/stdin{n}",
            f"(. {path}) <&$held >{log} 2>&1 &",
            "servers+=($!)",
            "for _ in $(seq 100); do",
            f"  grep -qF -- {q} {log} && break",
            f"  kill -0 $! 2>/dev/null || {{ cat {log} >&2; exit 1; }}",
            "  sleep 0.1",
            "done",
            f"grep -qF -- {q} {log} || {{ cat {log} >&2; echo 'the server never printed '{q} >&2; exit 1; }}"]


def netns_prefix():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return [], {}
    return ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount"], {"AZKM_DOC_NETNS": "1"}


def run_pass(src, build, doc, tags, system):
    errors, steps = plan(src, doc, tags)
    sb = tempfile.mkdtemp(prefix="azkm-doc-")
    os.makedirs(f"{sb}/home")
    try:
        if system:
            cmd = ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "bash",
                   f"{HERE}/system_sandbox.sh", sb, src, build, f"{sb}/driver.sh"]
            env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": f"{sb}/home",
                   "LANG": "C.UTF-8", "AZKM_DOC_NETNS": "1"}
            cwd = src
        else:
            prefix, extra = netns_prefix()
            cmd = prefix + ["bash", f"{HERE}/netns.sh", f"{sb}/driver.sh"]
            env = dict(os.environ)
            env.update(PATH=f"{build}/cli:{build}/server:{env['PATH']}", OPENSSL_MODULES=f"{build}/provider",
                       OPENSSL_CONF=f"{src}/conf/azkm-provider.cnf", AZKM_KEYSTORE_DIR=f"{sb}/keystore",
                       HOME=f"{sb}/home", AZKM_CONF="/dev/null", **extra)
            cwd = sb
        with open(f"{sb}/driver.sh", "w", encoding="utf-8") as f:
            f.write(driver(sb, steps, cwd))
        with open(f"{sb}/log", "wb") as log:
            try:
                r = subprocess.run(cmd, cwd=sb, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=150)
            except subprocess.TimeoutExpired:  # the child is killed, and with it (--kill-child) its namespaces
                r = subprocess.CompletedProcess(cmd, "timeout after 150 s")
        current = open(f"{sb}/current").read().strip() if os.path.exists(f"{sb}/current") else "setup"
        logtext = open(f"{sb}/log", encoding="utf-8", errors="replace").read()
        for note in re.findall(r"^note: .*$", logtext, re.M):
            print(f"{doc}: {note}")
        if r.returncode != 0 or current != "done":
            text = next((s[3] for s in steps if str(s[0]) == current), "")
            errors.append(f"{doc}:{current}: block failed (exit {r.returncode}):\n{text}--- output:\n{logtext[-3000:]}")
    finally:
        if not os.environ.get("AZKM_DOC_KEEP"):
            subprocess.run(["rm", "-rf", sb])
    return errors, [s[0] for s in steps]


def main():
    args = sys.argv[1:]
    system = args and args[0] == "--system"
    if system:
        args = args[1:]
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            print("doc_blocks: --system needs root and unshare (CI runs as root): skipped")
            sys.exit(77)
    src, build, docs = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2:]
    failed, ran_lines = False, {}
    for spec in docs:
        doc, _, tagstr = spec.partition(":")
        tags = set(tagstr.split("+")) if tagstr else set()
        errors, ran = run_pass(src, build, doc, tags, system)
        ran_lines.setdefault(doc, set()).update(ran)
        for e in errors:
            print(f"FAIL: {e}", file=sys.stderr)
        failed |= bool(errors)
        print(f"{spec}: {len(ran)} blocks ran, {len(errors)} problems")
    for doc, ran in ran_lines.items():  # a block whose when=TAG no pass names would silently never run
        for line, info, marker, _ in blocks(os.path.join(src, doc)):
            m = MARKER.match(marker)
            if info in ("", "sh", "bash") and m and m.group(1) in ("run", "server") and line not in ran:
                print(f"FAIL: {doc}:{line}: no pass runs this block (when=... names a tag no pass has)",
                      file=sys.stderr)
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
