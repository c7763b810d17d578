#!/usr/bin/env bash
# Client certificates pinned by SHA-256 fingerprint, without a client CA (issue 14). Without tls_client_ca, a
# self-signed certificate registered with `azkm sp create --cert` is its service principal (assigned Crypto User it
# signs); an unregistered one gets the 401 challenge naming its fingerprint, audited; no certificate gets the 401
# challenge as before; a certificate whose extended key usage excludes clientAuth fails the handshake. With
# tls_client_ca (set by SIGHUP: the new TLS context gets the same settings), a CA-issued certificate renewed with a
# new key and the same names still works by names; a certificate with the same issuer and subject signed by its own
# key (unverifiable) gets 401: names count only for a verified chain; a registered self-signed one works by its
# fingerprint. Back without tls_client_ca, the renewed certificate (now unverified) gets 401 at once: the 1 s
# principal cache keys on the fingerprint and the verified flag. An expired or not yet valid registered certificate
# fails the handshake, and so does a self-signed one whose signature does not verify with its own key.
. "$(dirname "$0")/lib.sh"

P256=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
ca() { # ca NAME [SUBJECT] [KEY]: a self-signed CA (with KEY: that existing key)
    local key=("${P256[@]}" -keyout "$T/$1.key")
    [ -n "${3-}" ] && key=(-key "$3")
    plain req -x509 "${key[@]}" -days 2 -subj "${2:-/CN=$1}" -out "$T/$1.crt" 2>/dev/null
}
issue() { # issue CA NAME SUBJECT [KEY]: a client certificate NAME signed by CA (with KEY: that existing key)
    local key=("${P256[@]}" -keyout "$T/$2.key")
    [ -n "${4-}" ] && key=(-key "$4")
    plain req -new "${key[@]}" -subj "$3" -out "$T/$2.csr" 2>/dev/null
    printf '%s\n' "${EXT:-extendedKeyUsage=clientAuth}" >"$T/$2.ext"
    plain x509 -req -in "$T/$2.csr" -CA "$T/$1.crt" -CAkey "$T/$1.key" -CAcreateserial -days 2 \
        -extfile "$T/$2.ext" -out "$T/$2.crt" 2>/dev/null
}
selfsigned() { # selfsigned NAME [EXT]: a self-signed client certificate
    plain req -x509 "${P256[@]}" -days 2 -subj "/CN=$1" -addext "${2:-extendedKeyUsage=clientAuth}" \
        -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
dated() { # dated NAME START END: a self-signed client certificate valid from START to END (YYYYMMDDhhmmssZ)
    : >"$T/index.txt"
    echo 01 >"$T/serial"
    printf '%s\n' "[ca]" "default_ca = d" "[d]" "database = $T/index.txt" "new_certs_dir = $T" \
        "serial = $T/serial" "default_md = sha256" "policy = p" "x509_extensions = e" "unique_subject = no" \
        "[p]" "commonName = supplied" "[e]" "extendedKeyUsage = clientAuth" >"$T/dated.cnf"
    plain req -new "${P256[@]}" -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null
    openssl ca -batch -config "$T/dated.cnf" -selfsign -keyfile "$T/$1.key" -in "$T/$1.csr" -startdate "$2" \
        -enddate "$3" -notext -out "$T/$1.crt" 2>/dev/null || fail "cannot make $1.crt"
}
fingerprint() {
    plain x509 -in "$T/$1.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'
}
ca server-ca
EXT="subjectAltName=DNS:*.$DOMAIN,DNS:$DOMAIN" issue server-ca server "/CN=*.$DOMAIN"
selfsigned pinned
selfsigned stranger
selfsigned server-only extendedKeyUsage=serverAuth
ca client-ca
issue client-ca app "/CN=app-1"
issue client-ca renewed "/CN=app-1"
# The forgery: issuer CN=client-ca and subject CN=app-1 like app.crt, signed by its own key (a look-alike CA).
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/forged.key" 2>/dev/null
ca fake-ca /CN=client-ca "$T/forged.key"
cp "$T/forged.key" "$T/fake-ca.key"
issue fake-ca forged "/CN=app-1" "$T/forged.key"
[ "$(plain x509 -in "$T/forged.crt" -noout -issuer -subject)" = "$(plain x509 -in "$T/app.crt" -noout -issuer -subject)" ] ||
    fail "the forged certificate's names differ from app.crt's"
# badsig: pinned.crt with its signature's last byte changed (its key, names and validity unchanged)
plain x509 -in "$T/pinned.crt" -outform DER -out "$T/badsig.der"
last=$(tail -c 1 "$T/badsig.der" | od -An -tu1 | tr -d ' ')
{ head -c -1 "$T/badsig.der"; printf "\\$(printf %o $(((last + 1) % 256)))"; } >"$T/badsig.flipped"
plain x509 -inform DER -in "$T/badsig.flipped" -out "$T/badsig.crt" || fail "cannot make badsig.crt"
cp "$T/pinned.key" "$T/badsig.key"
dated expired 20200101000000Z 20200102000000Z
dated future 20990101000000Z 20990102000000Z

AZKMD_TEST_THREADS=1 # one worker: the principal cache the requests meet is the one the previous request filled
BASE=("listen_tls = 127.0.0.1:0" "tls_certificate = $T/server.crt" "tls_key = $T/server.key")
write_config "${BASE[@]}"
start_azkmd
tls_port
call POST "/keys/k1/create?api-version=$API" '{"kty":"EC"}'
expect 200
URL="https://$VAULT.$DOMAIN:$PORT/keys/k1"
SIGN='{"alg":"ES256","value":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}'
tls() { # tls NAME [curl arguments]: a request with client certificate NAME ("" for none); sets STATUS
    local cert=()
    [ -n "$1" ] && cert=(--cert "$T/$1.crt" --key "$T/$1.key")
    shift
    STATUS=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/server-ca.crt" \
        "${cert[@]}" -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" 2>"$T/curl.err")
}
sign() { # sign NAME: signs a digest with k1 presenting certificate NAME
    tls "$1" -H 'Content-Type: application/json' --data-binary "$SIGN" "$URL//sign?api-version=$API"
}
audit_is() { # audit_is PRINCIPAL METHOD FINGERPRINT: the last audit record's identity
    [ "$(audit_last | jq -r '[.identity.principals[0] // "-", .identity.authenticatedBy,
        .identity.clientCertificateSha256 // "-"] | join(" ")')" = "$1 $2 $3" ] ||
        fail "audit identity $(audit_last | jq -c .identity), expected $1 $2 $3"
}
unregistered() { # unregistered NAME: certificate NAME gets the 401 challenge naming its fingerprint, audited
    sign "$1"
    expect 401 Unauthorized
    grep -qi '^WWW-Authenticate: Bearer ' "$T/headers" || fail "$1: no challenge"
    field .error.message | grep -qF "client certificate (sha256:$(fingerprint "$1")) is not registered" ||
        fail "$1: 401 message $(field .error.message)"
    expect_audit 401 KeySign
    audit_is - ClientCertificate "$(fingerprint "$1")"
}
refused() { # refused NAME: certificate NAME fails the TLS handshake: no HTTP answer, no audit record
    local n
    n=$(audit_count)
    if tls "$1" "$URL?api-version=$API"; then
        fail "$1.crt was accepted in the handshake (HTTP $STATUS)"
    fi
    [ "$STATUS" = 000 ] && [ "$(audit_count)" = "$n" ] || fail "$1: HTTP $STATUS, audited: not a handshake failure"
}
register() { # register NAME: the new service principal's appId, assigned Crypto User at /keys/k1
    local app
    app=$("$AZKM" sp create --display-name "$1" --cert "$T/$1.crt" -o json | jq -r .appId)
    [[ "$app" =~ ^[0-9a-f-]{36}$ ]] || fail "sp create $1: appId '$app'"
    "$AZKM" role assignment create --vault-name "$VAULT" --role 'Key Vault Crypto User' --assignee "sp:$app" \
        --scope /keys/k1 >/dev/null || fail "role assignment for $1"
    echo "$app"
}

step "no tls_client_ca: a registered self-signed certificate is its service principal and signs"
pinned=$(register pinned)
sign pinned
expect 200
audit_is "sp:$pinned" ClientCertificate "$(fingerprint pinned)"

step "no tls_client_ca: an unregistered self-signed certificate gets 401, matched by fingerprint only"
unregistered stranger
field .error.message | grep -qF "only its fingerprint can match" || fail "401 message: $(field .error.message)"

step "no certificate: the 401 challenge as before"
tls "" "$URL?api-version=$API"
expect 401 Unauthorized
grep -qi '^WWW-Authenticate: Bearer ' "$T/headers" || fail "no challenge"
audit_is - None -

step "a certificate for server authentication only fails the handshake"
refused server-only

step "SIGHUP with tls_client_ca: a CA-issued certificate renewed with a new key works by its issuer and subject"
hup() {
    local n
    n=$(grep -c '^azkmd: SIGHUP: reloaded' "$T/azkmd.log" || true)
    write_config "${BASE[@]}" "$@"
    kill -HUP "$AZKMD_PID"
    for _ in $(seq 100); do
        [ "$(grep -c '^azkmd: SIGHUP: reloaded' "$T/azkmd.log")" -gt "$n" ] && return 0
        sleep 0.1
    done
    fail "no reload: $(tail -n 2 "$T/azkmd.log")"
}
hup "tls_client_ca = $T/client-ca.crt"
app=$(register app)
sign app
expect 200
sign renewed
expect 200
audit_is "sp:$app" ClientCertificate "$(fingerprint renewed)"

step "the same issuer and subject, signed by the certificate's own key, not registered: 401 (names need a verified chain)"
unregistered forged
field .error.message | grep -qF "only its fingerprint can match" || fail "401 message: $(field .error.message)"

step "with tls_client_ca: a registered self-signed certificate works by its fingerprint; an unregistered one gets 401"
sign pinned
expect 200
audit_is "sp:$pinned" ClientCertificate "$(fingerprint pinned)"
unregistered stranger

step "SIGHUP without tls_client_ca: the renewed certificate is unverified now, and its cached principal is not used"
sign renewed
expect 200
hup
unregistered renewed
sign app
expect 200

step "an expired, or not yet valid, registered self-signed certificate fails the handshake"
register expired >/dev/null
register future >/dev/null
refused expired
refused future

step "a registered self-signed certificate whose signature does not verify with its own key fails the handshake"
register badsig >/dev/null
refused badsig
echo "PASS"
