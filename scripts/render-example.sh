#!/usr/bin/env bash
# Renders a shipped example (examples/, conf/) for a machine whose directories live under ROOT instead of /, with
# port 443 replaced by PORT on 127.0.0.1. Used by scripts/demo.sh and tests/servers, so that what they run is the
# example as shipped, changed only in ports and paths. Usage: render-example.sh FILE OUT ROOT PORT
set -euo pipefail
[ $# = 4 ] || { echo "usage: $0 FILE OUT ROOT PORT" >&2; exit 2; }
src=$1 out=$2 root=$3 port=$4
# Only these paths and the listening port change; everything else is the file as shipped.
sed -e "s|/etc/azkm/|$root/etc/azkm/|g" \
    -e "s|/var/lib/azkm|$root/ks|g" \
    -e "s|/etc/softhsm/softhsm2.conf|$root/softhsm/softhsm2.conf|g" \
    -e "s|/var/log/nginx/|$root/logs/|g" \
    -e "s|/var/lib/nginx/|$root/nginx/|g" \
    -e "s|/run/nginx.pid|$root/run/nginx.pid|g" \
    -e "s|/var/www/|$root/www/|g" \
    -e "s|listen 443 ssl;|listen 127.0.0.1:$port ssl;|" \
    -e "s|<VirtualHost \*:443>|<VirtualHost 127.0.0.1:$port>|" \
    "$src" >"$out"
