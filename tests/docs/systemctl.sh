#!/usr/bin/env bash
# doc_blocks.py --system: a stand-in for systemctl where there is no systemd (CI machines, containers), for the
# commands docs/keyless-tls.md gives. It starts the servers as their Debian units do: nginx with the variables of
# the EnvironmentFile= lines of its drop-ins (/etc/systemd/system/nginx.service.d/*.conf), Apache through
# `apachectl start` (which sources /etc/apache2/envvars).
set -euo pipefail
stop_nginx() {
    if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        nginx -s quit
        for _ in $(seq 50); do [ -s /run/nginx.pid ] || return 0; sleep 0.1; done
    fi
}
start_nginx() {
    local envs=() f file
    for f in /etc/systemd/system/nginx.service.d/*.conf; do
        [ -f "$f" ] || continue
        while read -r file; do
            envs+=($(grep -v '^\s*\(#\|$\)' "${file#-}"))
        done < <(sed -n 's/^EnvironmentFile=//p' "$f")
    done
    env "${envs[@]}" nginx -t -q
    env "${envs[@]}" nginx -g 'daemon on; master_process on;'
}
stop_apache() {
    apachectl stop >/dev/null 2>&1 || true
    for _ in $(seq 50); do [ -s /run/apache2/apache2.pid ] || return 0; sleep 0.1; done
}
start_apache() { # returns once the pid file is there, as systemd's Type=forking does
    apachectl start
    for _ in $(seq 100); do [ -s /run/apache2/apache2.pid ] && return 0; sleep 0.1; done
    echo "systemctl (doc-test stand-in): apache2 did not start" >&2
    return 1
}
unit() { echo "${1%.service}"; }
act=$1
shift
[ "$act" = disable ] && [ "${1:-}" = --now ] && { shift; act=stop; }
case "$act" in
daemon-reload | enable) exit 0 ;;
start | restart | stop)
    for u in "$@"; do
        case "$(unit "$u")" in
        nginx) stop_nginx; [ "$act" = stop ] || start_nginx ;;
        apache2) stop_apache; [ "$act" = stop ] || start_apache ;;
        *) echo "systemctl (doc-test stand-in): unit $u unknown" >&2; exit 1 ;;
        esac
    done ;;
*) echo "systemctl (doc-test stand-in): '$act' not supported" >&2; exit 1 ;;
esac
