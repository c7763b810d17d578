#!/usr/bin/env bash
# The Debian package end to end, on this machine (needs root and dpkg; .ci/run runs it after the test suite):
# checks it with lintian, builds it (scripts/package.sh), installs it with dpkg -i, runs the demo's key steps with
# the installed files only (/usr/bin/azkm, azkm.so from the multiarch modules directory,
# /etc/azkm/azkm-provider.cnf as OPENSSL_CONF, no build tree on any path) and then scripts/demo.sh itself in its
# AZKM_DEMO_INSTALLED mode (nginx), checks the man pages, completion, units, conffiles, docs and the azkm user,
# checks azkmd (its unit installed and left disabled, `systemd-analyze verify` clean, the installed
# /etc/azkm/azkmd.conf passing --check-config as the azkm user against a keystore made in /var/lib/azkmd),
# then removes it with dpkg --purge and checks that no file is left behind.
# Without DEB it builds and installs the package with the commands of docs/keyless-tls.md, step 1, as written.
#   bash tests/package/deb_install.sh [DEB]     # DEB: a package already built (default: build it)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "deb_install: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "deb_install: needs root (dpkg -i)" >&2; exit 77; }
if dpkg -s azkm >/dev/null 2>&1; then fail "a package azkm is installed already: remove it first"; fi
prebuilt=${1:+$(realpath "$1")}
if [ -z "$prebuilt" ]; then
    cd "$top"
    bash scripts/setup.sh >/dev/null
    bash scripts/package.sh >/dev/null
fi
install_package() {
    if [ -n "$prebuilt" ]; then dpkg -i "$prebuilt"; else dpkg -i build-deb/azkm_*.deb; fi
}
deb=${prebuilt:-$(ls "$top"/build-deb/azkm_*.deb)}
[ -f "$deb" ] || fail "no package at '$deb'"
work=$(mktemp -d)
snapshot() { find /etc /usr /lib /opt /var/lib -xdev -path /var/lib/dpkg -prune -o -path /var/lib/apt -prune -o \
    -path /var/lib/systemd -prune -o -print 2>/dev/null | grep -v -e '^/etc/\(passwd\|group\|shadow\|gshadow\)-$' \
    -e '^/etc/ld.so.cache$' | sort; }
cleanup() { dpkg --purge azkm >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# Debian's own checks: no error and no warning.
lintian --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1 || { cat "$work/lintian.log"; fail "lintian"; }
snapshot >"$work/before"
# azkmd as installed: its man page, its unit (paths, disabled, verified offline), its directories, and the
# installed configuration checked by the installed binary as the azkm user, with a keystore and TLS files made here.
check_azkmd() {
    local unit=/lib/systemd/system/azkmd.service out
    man -l /usr/share/man/man8/azkmd.8.gz 2>/dev/null | grep -q 'shutdown_grace' || fail "azkmd(8) lacks the settings"
    grep -qx 'ExecStart=/usr/sbin/azkmd --config /etc/azkm/azkmd.conf' $unit || fail "azkmd.service ExecStart"
    grep -qx 'User=azkm' $unit || fail "azkmd.service does not run as azkm"
    [ -f "$(sed -n 's/^Documentation=file://p' $unit)" ] || fail "azkmd.service's Documentation= is not installed"
    [ ! -e /etc/systemd/system/multi-user.target.wants/azkmd.service ] || fail "azkmd.service is enabled"
    if command -v systemd-analyze >/dev/null; then # offline: no running systemd needed
        out=$(systemd-analyze verify --man=no $unit /lib/systemd/system/azkm-rotation.service \
            /lib/systemd/system/azkm-rotation.timer 2>&1) && [ -z "$out" ] || fail "systemd-analyze verify: $out"
    fi
    for d in /var/lib/azkmd /var/log/azkmd; do
        [ "$(stat -c '%U:%G %a' $d)" = "azkm:azkm 700" ] || fail "$d is $(stat -c '%U:%G %a' $d), not azkm:azkm 700"
    done
    install -d -m 0750 -g azkm /etc/azkm/tls
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=*.vault.azkm.localhost' \
        -days 1 -keyout /etc/azkm/tls/azkmd.key -out /etc/azkm/tls/azkmd.crt 2>/dev/null
    chgrp azkm /etc/azkm/tls/azkmd.key && chmod 0640 /etc/azkm/tls/azkmd.key
    out=$(runuser -u azkm -- env AZKM_KEYSTORE_DIR=/var/lib/azkmd AZKM_AUDIT_LOG=/var/log/azkmd/audit.log \
        /usr/bin/azkm vault create --name web 2>&1) && [ -z "$(find /var/lib/azkmd /var/log/azkmd ! -user azkm)" ] ||
        fail "a keystore as the azkm user in /var/lib/azkmd: $out"
    out=$(runuser -u azkm -- /usr/sbin/azkmd --config /etc/azkm/azkmd.conf --check-config 2>&1) ||
        fail "azkmd --check-config on the installed configuration: $out"
    grep -q 'configuration /etc/azkm/azkmd.conf is valid' <<<"$out" || fail "--check-config said: $out"
    rm -rf /etc/azkm/tls /var/lib/azkmd/* /var/log/azkmd/* # the administrator's data: purge keeps it
}

install_package >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i failed"; }
modules=$(pkg-config --variable=modulesdir libcrypto)
for f in /usr/bin/azkm "$modules/azkm.so" /etc/azkm/azkm-provider.cnf /etc/azkm/azkm-server.env \
    /lib/systemd/system/azkm-rotation.service /lib/systemd/system/azkm-rotation.timer \
    /usr/share/man/man1/azkm.1.gz /usr/share/man/man7/azkm-provider.7.gz /usr/share/bash-completion/completions/azkm \
    /usr/share/doc/azkm/cli.md /usr/sbin/azkmd /etc/azkm/azkmd.conf /lib/systemd/system/azkmd.service \
    /usr/share/man/man8/azkmd.8.gz /usr/share/doc/azkm/server.md; do
    [ -f "$f" ] || fail "$f is not installed"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' azkm)
for f in /etc/azkm/azkm-provider.cnf /etc/azkm/azkm-server.env /etc/azkm/azkmd.conf; do
    grep -q "$f" <<<"$conffiles" || fail "$f is not a conffile"
done
for f in copyright changelog.gz README.md; do
    [ -f "/usr/share/doc/azkm/$f" ] || fail "/usr/share/doc/azkm/$f is not installed"
done
[ -z "$(dpkg -L azkm | grep '^/usr/share/man/man[0-9]/.*[0-9]$')" ] || fail "man pages not gzipped: $(dpkg -L azkm | grep man/)"
getent passwd azkm >/dev/null || fail "no azkm system user"
# The installed unit names files that exist once installed.
grep -q '^ExecStart=/usr/bin/azkm rotation run' /lib/systemd/system/azkm-rotation.service || fail "unit ExecStart"
doc=$(sed -n 's/^Documentation=file://p' /lib/systemd/system/azkm-rotation.service)
[ -f "$doc" ] || fail "the unit's Documentation=$doc is not installed"
man -l /usr/share/man/man1/azkm.1.gz 2>/dev/null | grep -q 'azkm key rotation-policy set' || fail "azkm(1) lacks commands"
check_azkmd

# The demo's key steps with the installed files only: a clean environment, no build tree.
cd "$work"
run() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work" AZKM_KEYSTORE_DIR="$work/ks" \
    OPENSSL_CONF=/etc/azkm/azkm-provider.cnf "$@"; }
run azkm vault create --name web >/dev/null
run azkm key create --vault-name web --name web-rsa --kty RSA --size 2048 >/dev/null
run azkm key create --vault-name web --name web-ec --kty EC --curve P-256 >/dev/null
run openssl list -providers | grep -q azkm || fail "openssl does not load the installed provider"
for k in web-rsa web-ec; do
    run azkm key ref --vault-name web --name $k --file $k.ref.pem >/dev/null
    run openssl req -x509 -new -key $k.ref.pem -subj "/CN=$k.example" -days 1 -out $k.crt 2>err.txt \
        || { cat err.txt; fail "openssl req with the $k reference file"; }
    echo hello >msg.txt
    run openssl dgst -sha256 -sign "azkm://web/keys/$k" -out msg.sig msg.txt || fail "sign with azkm://web/keys/$k"
    run openssl dgst -sha256 -verify <(openssl x509 -in $k.crt -pubkey -noout) -signature msg.sig msg.txt >/dev/null \
        || fail "the $k signature does not verify with the certificate's key"
done
# A TLS handshake served by the installed provider (the demo's nginx step, with openssl s_server).
port=$(bash "$top/scripts/free-port.sh")
run openssl s_server -accept "127.0.0.1:$port" -cert web-ec.crt -key web-ec.ref.pem -naccept 1 -www \
    >server.log 2>&1 &
srv=$!
for _ in $(seq 50); do grep -q ACCEPT server.log 2>/dev/null && break; sleep 0.1; done
echo | openssl s_client -connect "127.0.0.1:$port" -CAfile web-ec.crt -verify_return_error >client.log 2>&1 \
    || { cat server.log client.log; fail "TLS handshake with the installed provider"; }
wait $srv 2>/dev/null || true
grep -q 'Verify return code: 0' client.log || fail "the server certificate did not verify"
# The demo itself (nginx, workers as www-data, curl and s_client) on the installed files: AZKM_DEMO_INSTALLED=1.
demo=$(mktemp -d /tmp/azkm-deb-demo.XXXXXX)
out=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work" AZKM_DEMO_INSTALLED=1 AZKM_DEMO_DIR="$demo" \
    AZKM_DEMO_PORT=0 AZKM_DEMO_STOP=1 bash "$top/scripts/demo.sh" 2>&1) || { echo "$out"; rm -rf "$demo"; fail "demo"; }
rm -rf "$demo"
grep -q "Hello from nginx" <<<"$out" || { echo "$out"; fail "the demo fetched no page"; }
cd /

dpkg --purge azkm >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge failed"; }
getent passwd azkm >/dev/null && fail "the azkm user is left after purge"
getent group azkm >/dev/null && fail "the azkm group is left after purge"
for d in /var/lib/azkmd /var/log/azkmd; do [ ! -e $d ] || fail "$d is left after purge"; done
snapshot >"$work/after"
if ! diff "$work/before" "$work/after" >"$work/diff"; then
    cat "$work/diff"
    fail "files differ after dpkg --purge"
fi
echo "deb_install: ok ($(basename "$deb"): installed, demo steps passed, purged without a trace)"
