#!/usr/bin/env bash
# Keyless TLS with the keys in azkmd (docs/keyless-tls.md, "Keys in azkmd"): the web server's machine holds no key,
# not even in its own keystore. azkmd (conf/azkmd.conf, conf/azkmd.service) keeps vault "web" with keys web-rsa and
# web-ec in its keystore; root's keystore, which nginx's or Apache's master reads (AZKM_KEYSTORE_DIR of
# /etc/azkm/azkm-server.env), has a remote vault "web" pointing at azkmd's Unix socket. The master (root) loads the
# key reference files at startup; the workers (www-data) ask azkmd for every signature over the socket, known by
# their peer credentials, and may use these two keys and nothing else: a role assignment "Key Vault Crypto User"
# scoped to each key.
#
# Run as root, with the web server's environment (set -a; . /etc/azkm/azkm-server.env; set +a), after azkmd was
# started and www-data was given access to its socket (usermod -aG azkm www-data: the socket is 0660, group azkm).
# The web server's configuration is examples/nginx/nginx.conf or examples/apache/ unchanged: a key reference file
# of a remote key looks like any other.
#
# Tested as shipped by tests/remote/remote_nginx_azkmd.sh, which moves /etc/azkm/ into a temporary directory and
# sets the variables below.
#
# Usage: keyless-setup.sh [STEP...], the steps azkmd, connect and certs (default: all three, in this order).
# Sourced, it defines them only: the two-host variant (keyless-mtls.sh) runs step_azkmd on azkmd's host with
# ASSIGNEE=sp:<appId>, and step_certs on the web server's host after its own `azkm vault connect` over mutual TLS.
set -euo pipefail

# azkmd's keystore and socket, and the user the azkm CLI runs as on that keystore (azkmd's: it owns the files).
AZKMD_KEYSTORE=${AZKMD_KEYSTORE:-/var/lib/azkmd}
AZKMD_SOCKET=${AZKMD_SOCKET:-/run/azkmd/azkmd.sock}
AZKMD_USER=${AZKMD_USER:-azkm}
# The user the web server's workers run as (nginx: `user`; Apache: APACHE_RUN_USER).
WEB_USER=${WEB_USER:-www-data}
# Who gets the role on each key, as azkmd knows it (peer credentials over the socket; sp:<appId> over mutual TLS).
ASSIGNEE=${ASSIGNEE:-user:$WEB_USER}
KEYS="web-rsa web-ec"

azkmd_cli() { # the azkm CLI on azkmd's keystore, as azkmd's user
    if [ "$(id -un)" = "$AZKMD_USER" ]; then
        AZKM_KEYSTORE_DIR=$AZKMD_KEYSTORE azkm "$@"
    else
        runuser -u "$AZKMD_USER" -- env AZKM_KEYSTORE_DIR="$AZKMD_KEYSTORE" azkm "$@"
    fi
}

# 1. azkmd's side: the vault, the keys, and a role for the workers on each key (scope /keys/<name>). The vault and
#    keys are made when missing (a key created again would get a new version: the certificates made for the old
#    one would no longer match), so that a second run only adds the role assignments of another ASSIGNEE.
step_azkmd() {
    azkmd_cli vault show --name web >/dev/null 2>&1 || azkmd_cli vault create --name web >/dev/null
    azkmd_cli key show --vault-name web --name web-rsa >/dev/null 2>&1 ||
        azkmd_cli key create --vault-name web --name web-rsa --kty RSA --size 2048 >/dev/null
    azkmd_cli key show --vault-name web --name web-ec >/dev/null 2>&1 ||
        azkmd_cli key create --vault-name web --name web-ec --kty EC --curve P-256 >/dev/null
    for key in $KEYS; do
        azkmd_cli role assignment create --vault-name web --role "Key Vault Crypto User" --assignee "$ASSIGNEE" \
            --scope "/keys/$key" >/dev/null
    done
}

# 2. The web server's side: vault "web" of root's keystore is azkmd's, reached over the Unix socket.
step_connect() {
    azkm vault connect --name web --url "unix:$AZKMD_SOCKET" >/dev/null
}

# 3. A certificate for each key (self-signed here: send a CSR to your CA instead, `openssl req -new -key
#    azkm://web/keys/<key>`; the signature is azkmd's) and the key reference files the web server loads.
step_certs() {
    mkdir -p /etc/azkm/tls
    for key in $KEYS; do
        openssl req -new -x509 -key "azkm://web/keys/$key" -subj /CN=localhost -days 365 \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out "/etc/azkm/tls/$key.crt"
        azkm key ref --vault-name web --name "$key" --file "/etc/azkm/tls/$key.ref.pem" >/dev/null
    done
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
[ $# -gt 0 ] || set -- azkmd connect certs
for step in "$@"; do
    case "$step" in
    azkmd | connect | certs) "step_$step" ;;
    *)
        echo "keyless-setup.sh: unknown step '$step' (azkmd, connect or certs)" >&2
        exit 2
        ;;
    esac
done
