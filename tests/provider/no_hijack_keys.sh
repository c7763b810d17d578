#!/usr/bin/env bash
# Loading azkm changes nothing for keys that are not azkm's, whatever the route (-provider azkm -provider default
# in either order, the shipped snippet, the snippet plus default_properties): genpkey makes ordinary RSA, RSA-PSS,
# EC and Ed25519 keys, their signatures verify both ways with the default provider alone, CMS signs, verifies,
# encrypts and decrypts, and X25519, X448, ECDH and FFDHE derive the same secrets as without azkm.
. "$(dirname "$0")/lib.sh"

{
    sed 's/^providers = provider_sect$/providers = provider_sect\nalg_section = evp_props/' "$AZKM_CONF_SNIPPET"
    printf '\n[evp_props]\ndefault_properties = ?provider=default\n'
} >snippet-props.cnf

# with <route> openssl args...: openssl with azkm loaded by that route
with() {
    local r=$1
    shift
    case $r in
    azkm-first) OPENSSL_CONF=/dev/null "$1" "${@:2:1}" -provider azkm -provider default "${@:3}" ;;
    default-first) OPENSSL_CONF=/dev/null "$1" "${@:2:1}" -provider default -provider azkm "${@:3}" ;;
    snippet) OPENSSL_CONF="$AZKM_CONF_SNIPPET" "$@" ;;
    snippet-props) OPENSSL_CONF="$T/snippet-props.cnf" "$@" ;;
    esac
}

# What the default provider alone makes, for the comparisons.
plain req -x509 -newkey rsa:2048 -nodes -keyout signer.key -subj /CN=signer -days 1 -out signer.crt 2>/dev/null
echo "azkm must not change this" >data
for alg in X25519 X448; do
    plain genpkey -algorithm $alg -out peer-$alg.key
    plain pkey -in peer-$alg.key -pubout -out peer-$alg.pub
done
plain genpkey -algorithm EC -pkeyopt group:P-384 -out peer-EC.key
plain pkey -in peer-EC.key -pubout -out peer-EC.pub
plain genpkey -algorithm DH -pkeyopt group:ffdhe2048 -out peer-DH.key
plain pkey -in peer-DH.key -pubout -out peer-DH.pub

for r in azkm-first default-first snippet snippet-props; do
    with $r openssl list -providers | grep -q "azkm" || fail "$r: azkm is not loaded"

    # genpkey: ordinary private keys that the default provider alone reads and checks
    for spec in "RSA rsa_keygen_bits:2048" "RSA-PSS rsa_keygen_bits:2048" "EC ec_paramgen_curve:P-256" "ED25519"; do
        set -- $spec
        alg=$1
        with $r openssl genpkey -algorithm "$alg" ${2:+-pkeyopt "$2"} -out "$r-$alg.key" 2>err ||
            fail "$r: genpkey $alg: $(cat err)"
        grep -q "BEGIN PRIVATE KEY" "$r-$alg.key" || fail "$r: genpkey $alg did not write a private key"
        plain pkey -in "$r-$alg.key" -check -noout >/dev/null 2>&1 || fail "$r: the $alg key does not check"
        plain pkey -in "$r-$alg.key" -pubout -out "$r-$alg.pub"

        # signatures: made with azkm loaded, verified without; and the other way round
        if [ "$alg" = ED25519 ]; then
            with $r openssl pkeyutl -sign -rawin -inkey "$r-$alg.key" -in data -out "$r-$alg.sig"
            plain pkeyutl -verify -rawin -pubin -inkey "$r-$alg.pub" -in data -sigfile "$r-$alg.sig" >/dev/null ||
                fail "$r: $alg signature does not verify"
            plain pkeyutl -sign -rawin -inkey "$r-$alg.key" -in data -out "$r-$alg.psig"
            with $r openssl pkeyutl -verify -rawin -pubin -inkey "$r-$alg.pub" -in data -sigfile "$r-$alg.psig" \
                >/dev/null || fail "$r: $alg signature by the default provider does not verify"
        else
            with $r openssl dgst -sha256 -sign "$r-$alg.key" -out "$r-$alg.sig" data
            plain dgst -sha256 -verify "$r-$alg.pub" -signature "$r-$alg.sig" data >/dev/null ||
                fail "$r: $alg signature does not verify"
            plain dgst -sha256 -sign "$r-$alg.key" -out "$r-$alg.psig" data
            with $r openssl dgst -sha256 -verify "$r-$alg.pub" -signature "$r-$alg.psig" data >/dev/null ||
                fail "$r: $alg signature by the default provider does not verify"
        fi
    done
    plain asn1parse -in "$r-RSA-PSS.pub" | grep -q ":rsassaPss" || fail "$r: genpkey RSA-PSS did not make an RSA-PSS key"

    # CMS: sign and verify, encrypt and decrypt, each side once with azkm loaded
    with $r openssl cms -sign -nodetach -in data -signer signer.crt -inkey signer.key -out "$r.p7s" -outform PEM
    plain cms -verify -in "$r.p7s" -inform PEM -CAfile signer.crt -out /dev/null 2>/dev/null ||
        fail "$r: CMS signature does not verify"
    plain cms -sign -nodetach -in data -signer signer.crt -inkey signer.key -out "$r.plain.p7s" -outform PEM
    with $r openssl cms -verify -in "$r.plain.p7s" -inform PEM -CAfile signer.crt -out /dev/null 2>/dev/null ||
        fail "$r: CMS signature of the default provider does not verify"
    with $r openssl cms -encrypt -binary -aes256 -in data -recip signer.crt -out "$r.p7m"
    plain cms -decrypt -in "$r.p7m" -inkey signer.key -recip signer.crt | cmp -s - data ||
        fail "$r: CMS encryption does not decrypt"
    plain cms -encrypt -binary -aes256 -in data -recip signer.crt -out "$r.plain.p7m"
    with $r openssl cms -decrypt -in "$r.plain.p7m" -inkey signer.key -recip signer.crt | cmp -s - data ||
        fail "$r: CMS decryption differs"

    # key agreement: the same secrets as the default provider alone
    for alg in X25519 X448 EC DH; do
        case $alg in
        X25519 | X448) with $r openssl genpkey -algorithm $alg -out "$r-$alg.dkey" ;;
        EC) with $r openssl genpkey -algorithm EC -pkeyopt group:P-384 -out "$r-$alg.dkey" ;;
        DH) with $r openssl genpkey -algorithm DH -pkeyopt group:ffdhe2048 -out "$r-$alg.dkey" ;;
        esac
        with $r openssl pkeyutl -derive -inkey "$r-$alg.dkey" -peerkey "peer-$alg.pub" -out "$r-$alg.secret"
        plain pkey -in "$r-$alg.dkey" -pubout -out "$r-$alg.dpub"
        plain pkeyutl -derive -inkey "peer-$alg.key" -peerkey "$r-$alg.dpub" -out "$r-$alg.expected"
        cmp -s "$r-$alg.secret" "$r-$alg.expected" || fail "$r: $alg derives another secret than the default provider"
    done
    echo "ok: $r"
done
echo "PASS"
