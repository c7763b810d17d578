#!/usr/bin/env bash
# Keyless TLS with the keys in azkmd on ANOTHER host, reached over mutual TLS (docs/keyless-tls.md, "Two hosts:
# azkmd over mutual TLS"). The web server's host holds no key of its TLS sites, only the credential that lets its
# workers ask azkmd for signatures: a client certificate registered in azkmd for a service principal, which has the
# role "Key Vault Crypto User" on each of the two keys and nothing else. Three steps, in this order:
#
#   web host   (root)          keyless-mtls.sh client
#       makes /etc/azkm/azkmd-client/client.key (EC P-256, PEM) and client.crt (self-signed, clientAuth).
#       COPY client.crt to azkmd's host (it is public; client.key never leaves the web host).
#   azkmd host (root or azkm)  keyless-mtls.sh azkmd CLIENT_CERT
#       vault "web" with keys web-rsa and web-ec in azkmd's keystore (keyless-setup.sh azkmd), the service
#       principal of CLIENT_CERT (`azkm sp create --cert`), its role on each key. Prints the appId.
#       COPY azkmd's CA certificate (the one that issued its tls_certificate) to the web host, as
#       /etc/azkm/azkmd-client/azkmd-ca.crt.
#   web host   (root, with the web server's environment)
#                              AZKMD_URL=https://kv1.example:8443 keyless-mtls.sh connect
#       root's vault "web" is azkmd's, over mutual TLS; the certificates and key reference files for nginx or
#       Apache in /etc/azkm/tls (keyless-setup.sh certs). Then start (or restart) the web server.
#
# Why a PEM file, 0640 root:<workers' group>: the workers (www-data) open the connections to azkmd themselves
# (each process its own, after fork) and load the client key then, as www-data. A key reference file to a key in
# a local vault of root's keystore does not work here: the worker cannot open root's keystore (0700), so the key
# would not load. `azkm vault connect` (run as root) accepts a client key owned by root or by the user running it
# and not accessible to others: group www-data may read it, no one else.
#
# Variables: AZKMD_URL (connect: azkmd's TLS listener, https://HOST[:PORT]; HOST may be an IP address, requests
# still name <vault>.<domain> and azkmd's certificate must hold it), AZKMD_DOMAIN (azkmd's `domain`), WEB_USER,
# SP_NAME (the service principal's display name), AZKMD_KEYSTORE and AZKMD_USER as for keyless-setup.sh. Tested
# as shipped by tests/remote/remote_nginx_mtls.sh.
set -euo pipefail

# keyless-setup.sh's steps and variables (sourced: it runs nothing).
. "$(dirname "$0")/keyless-setup.sh"
CLIENT_DIR=/etc/azkm/azkmd-client
AZKMD_DOMAIN=${AZKMD_DOMAIN:-vault.azkm.localhost}

usage() {
    echo "usage: keyless-mtls.sh client | azkmd CLIENT_CERT | connect (with AZKMD_URL=https://HOST[:PORT])" >&2
    exit 2
}

# web host, step 1: the workers' client key (readable by root and their group only) and its certificate.
do_client() {
    mkdir -p "$CLIENT_DIR"
    chgrp "$(id -gn "$WEB_USER")" "$CLIENT_DIR"
    chmod 750 "$CLIENT_DIR"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CLIENT_DIR/client.key")
    chgrp "$(id -gn "$WEB_USER")" "$CLIENT_DIR/client.key"
    chmod 640 "$CLIENT_DIR/client.key"
    openssl req -new -x509 -key "$CLIENT_DIR/client.key" -subj "/CN=$(hostname -f 2>/dev/null || hostname) web" \
        -days 365 -addext extendedKeyUsage=clientAuth -out "$CLIENT_DIR/client.crt"
    echo "copy $CLIENT_DIR/client.crt to azkmd's host"
}

# azkmd host: the keys, the service principal of the web host's certificate, its role on each key only.
do_azkmd() {
    local app
    [ -s "$1" ] || { echo "keyless-mtls.sh: client certificate $1 is missing or empty" >&2; exit 1; }
    # On stdin: azkmd's user need not be able to read the copied file.
    app=$(azkmd_cli sp create --display-name "${SP_NAME:-keyless TLS web host}" --cert - -o json <"$1" | jq -r .appId)
    ASSIGNEE="sp:$app" step_azkmd
    echo "service principal $app (the web host's certificate) may use web-rsa and web-ec;"
    echo "copy azkmd's CA certificate to the web host as $CLIENT_DIR/azkmd-ca.crt"
}

# web host, step 2: root's vault "web" is azkmd's over mutual TLS; certificates and key reference files.
do_connect() {
    : "${AZKMD_URL:?AZKMD_URL must name the TLS listener of azkmd, https://HOST[:PORT]}"
    azkm vault connect --name web --url "$AZKMD_URL" --domain "$AZKMD_DOMAIN" --ca "$CLIENT_DIR/azkmd-ca.crt" \
        --client-cert "$CLIENT_DIR/client.crt" --client-key "$CLIENT_DIR/client.key" >/dev/null
    step_certs
}

case "${1-}:$#" in
client:1) do_client ;;
azkmd:2) do_azkmd "$2" ;;
connect:1) do_connect ;;
*) usage ;;
esac
