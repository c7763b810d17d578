#!/usr/bin/env bash
# cmake --install honours the prefix and DESTDIR: with --prefix /opt/x every file lands under DESTDIR/opt/x
# (azkm.so in lib/ossl-modules, azkmd in sbin, conf in etc/azkm, units in lib/systemd/system naming /opt/x), and
# with --prefix /usr the provider goes to libcrypto's modulesdir, the conf to /etc/azkm, the units to systemd's
# unit directory.
#   install_prefix.sh BUILD_DIR
set -euo pipefail
build=$1
fail() { echo "install_prefix: FAIL: $*" >&2; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

DESTDIR=$d/a cmake --install "$build" --prefix /opt/x >/dev/null
outside=$(cd "$d/a" && find . -type f ! -path './opt/x/*')
[ -z "$outside" ] || fail "files installed outside the prefix /opt/x: $outside"
for f in bin/azkm lib/ossl-modules/azkm.so etc/azkm/azkm-provider.cnf etc/azkm/azkm-server.env \
    lib/systemd/system/azkm-rotation.service lib/systemd/system/azkm-rotation.timer share/man/man1/azkm.1.gz \
    share/man/man7/azkm-provider.7.gz share/bash-completion/completions/azkm share/doc/azkm/cli.md sbin/azkmd \
    etc/azkm/azkmd.conf lib/systemd/system/azkmd.service share/man/man8/azkmd.8.gz; do
    [ -f "$d/a/opt/x/$f" ] || fail "/opt/x/$f not installed"
done
unit=$d/a/opt/x/lib/systemd/system/azkm-rotation.service
grep -q '^ExecStart=/opt/x/bin/azkm rotation run$' "$unit" || fail "the unit's ExecStart does not name /opt/x/bin/azkm"
grep -q '^Documentation=file:/opt/x/share/doc/azkm/cli.md$' "$unit" || fail "the unit's Documentation path"
unit=$d/a/opt/x/lib/systemd/system/azkmd.service
grep -q '^ExecStart=/opt/x/sbin/azkmd --config' "$unit" || fail "azkmd.service's ExecStart does not name /opt/x/sbin"
grep -q '^ExecStartPre=/opt/x/sbin/azkmd --config' "$unit" || fail "azkmd.service's ExecStartPre"
grep -q '^Documentation=file:/opt/x/share/doc/azkm/server.md$' "$unit" || fail "azkmd.service's Documentation path"

DESTDIR=$d/b cmake --install "$build" --prefix /usr >/dev/null
modules=$(pkg-config --variable=modulesdir libcrypto)
for f in /usr/bin/azkm "$modules/azkm.so" /etc/azkm/azkm-provider.cnf /usr/share/man/man1/azkm.1.gz /usr/sbin/azkmd \
    /etc/azkm/azkmd.conf /usr/share/man/man8/azkmd.8.gz; do
    [ -f "$d/b$f" ] || fail "$f not installed with --prefix /usr"
done
[ -n "$(find "$d/b" -name azkm-rotation.timer -path '*/systemd/system/*' ! -path '*/usr/etc/*')" ] \
    || fail "no rotation timer in systemd's unit directory"
# The installed units pass systemd-analyze verify (offline, --man=no: no running systemd needed), with their
# /usr paths pointed into DESTDIR so that the executables they name exist.
if command -v systemd-analyze >/dev/null; then
    mkdir "$d/units"
    for u in $(find "$d/b" -path '*/systemd/system/*' \( -name '*.service' -o -name '*.timer' \)); do
        sed -e "s|=/usr/|=$d/b/usr/|g" "$u" >"$d/units/$(basename "$u")"
    done
    [ "$(ls "$d/units" | wc -l)" = 3 ] || fail "expected 3 units: $(ls "$d/units")"
    out=$(systemd-analyze verify --man=no "$d"/units/* 2>&1) && [ -z "$out" ] || fail "systemd-analyze verify: $out"
fi
echo "install_prefix: ok"
