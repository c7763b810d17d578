#!/usr/bin/env bash
# Rotation policies from the CLI: set and show in Azure's shape, refusals for bad policies and for durations below
# Azure's minimums, `azkm rotation run` rotates a key that is near its expiry and notifies about another once, a
# second run does nothing, a rotation by hand gives the new version the policy's expiryTime, an edited policy is
# reported (by the run and by `vault verify`), and the shipped systemd timer and service verify and run.
CONF_DIR="$(cd "$(dirname "$0")/../../conf" && pwd)"
. "$(dirname "$0")/lib.sh"

now=$(date +%s)
export AZKM_AUDIT_LOG="$TMP/audit.jsonl"
ok azkm vault create --name rot >/dev/null
ok azkm key create --vault-name rot --name web-tls --kty EC --expires $((now + 5 * 86400)) >/dev/null
ok azkm key create --vault-name rot --name signer --kty EC --expires $((now + 20 * 86400)) >/dev/null
ok azkm key create --vault-name rot --name steady --kty EC >/dev/null

step "set and show a policy"
cat >policy.json <<'JSON'
{"lifetimeActions": [
   {"trigger": {"timeBeforeExpiry": "P7D"}, "action": {"type": "Rotate"}},
   {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}],
 "attributes": {"expiryTime": "P90D"}}
JSON
ok azkm key rotation-policy set --vault-name rot --name web-tls --value @policy.json >/dev/null
ok azkm key rotation-policy set --id azkm://rot/keys/signer --value @policy.json >/dev/null
ok azkm key rotation-policy set --vault-name rot --name steady \
    --value '{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"rotate"}}]}' >/dev/null
j=$(ok azkm key rotation-policy show --vault-name rot --name web-tls)
expect_eq "$(jqr '.lifetimeActions[0].trigger.timeBeforeExpiry' "$j")" P7D "rotate trigger"
expect_eq "$(jqr '.lifetimeActions[1].action.type' "$j")" Notify "notify action"
expect_eq "$(jqr .attributes.expiryTime "$j")" P90D "expiryTime"
expect_eq "$(jqr '.lifetimeActions[0].action.type' "$(ok azkm key rotation-policy show --vault-name rot --name steady)")" \
    Rotate "action type normalised"

step "bad policies are refused"
should_fail 2 "ISO-8601 duration" azkm key rotation-policy set --vault-name rot --name steady \
    --value '{"lifetimeActions":[{"trigger":{"timeAfterCreate":"90 days"},"action":{"type":"Rotate"}}]}'
should_fail 2 "Rotate or Notify" azkm key rotation-policy set --vault-name rot --name steady \
    --value '{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P9D"},"action":{"type":"Purge"}}]}'
should_fail 2 "--value: give the policy" azkm key rotation-policy set --vault-name rot --name steady
should_fail 2 "BadParameter: .*expiryTime P7D is shorter than Azure's minimum of 28 days" \
    azkm key rotation-policy set --vault-name rot --name steady --value '{"attributes":{"expiryTime":"P7D"}}'
should_fail 2 "BadParameter: .*Rotate timeAfterCreate P1D is shorter than Azure's minimum of 7 days" \
    azkm key rotation-policy set --vault-name rot --name steady \
    --value '{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]}'
should_fail 2 "BadParameter: .*Notify timeBeforeExpiry PT48H is shorter than Azure's minimum of 7 days" \
    azkm key rotation-policy set --vault-name rot --name steady \
    --value '{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"PT48H"},"action":{"type":"Notify"}}]}'
should_fail 2 "BadParameter: .*timeBeforeExpiry P1M must be shorter than expiryTime P30D" \
    azkm key rotation-policy set --vault-name rot --name steady \
    --value '{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P1M"},"action":{"type":"Rotate"}}],
              "attributes":{"expiryTime":"P30D"}}'
expect_eq "$(jqr '.lifetimeActions[0].trigger.timeAfterCreate' \
    "$(ok azkm key rotation-policy show --vault-name rot --name steady)")" P90D "refused policies changed nothing"
should_fail 3 "not found" azkm key rotation-policy show --vault-name rot --name nope

step "rotation run: web-tls (5 days left) rotates, signer (20 days left) gets a notice, steady is not due"
old=$(jqr .key.kid "$(ok azkm key show --vault-name rot --name web-tls --output json)")
out=$(ok azkm rotation run)
echo "$out" >&2
expect_match "$out" "rot/web-tls: rotated ${old##*/} -> [0-9a-f]{32} \(expires .*timeBeforeExpiry P7D\), new version expires" \
    "rotation reported"
expect_match "$out" "rot/signer: near expiry: version [0-9a-f]{32} expires .*timeBeforeExpiry P30D" "notice reported"
if grep -q steady <<<"$out"; then fail "steady was acted on: $out"; fi
j=$(ok azkm key show --vault-name rot --name web-tls --output json)
[ "$(jqr .key.kid "$j")" != "$old" ] || fail "web-tls has no new current version"
exp=$(jqr .attributes.exp "$j")
[ "$exp" -ge $((now + 89 * 86400)) ] && [ "$exp" -le $((now + 91 * 86400)) ] || fail "new version expiry $exp"
expect_eq "$(ok azkm key list-versions --vault-name rot --name web-tls --output json | jq length)" 2 "versions"

audit=$(cat "$AZKM_AUDIT_LOG")
expect_match "$audit" '"operationName":"KeyRotationPolicyUpdate","resultType":"Success"' "policy update audited"
expect_match "$audit" '"operationName":"KeyRotate","resultType":"Success".*"key":"web-tls"' "rotation audited"
expect_match "$audit" '"operationName":"KeyNearExpiry","resultType":"Success".*"key":"signer"' "notice audited"

step "a second run does nothing"
expect_eq "$(ok azkm rotation run --vault-name rot)" "rot: nothing due" "idempotent run"
expect_eq "$(ok azkm rotation run --output json)" "[]" "idempotent run, json"

step "a rotation by hand gives the new version the policy's expiryTime"
t=$(date +%s)
j=$(ok azkm key rotate --vault-name rot --name web-tls --output json)
exp=$(jqr .attributes.exp "$j")
created=$(jqr .attributes.created "$j")
expect_eq "$((exp - created))" $((90 * 86400)) "expiry of a version rotated by hand"
[ "$created" -ge "$t" ] || fail "created $created before the rotation"
j=$(ok azkm key rotate --vault-name rot --name steady --output json)
expect_eq "$(jqr .attributes.exp "$j")" null "no expiryTime in the policy, no expiry"
expect_eq "$(ok azkm rotation run --vault-name rot)" "rot: nothing due" "nothing due after rotations by hand"

step "an edited policy is reported by name"
sqlite3 "$AZKM_KEYSTORE_DIR/rot/vault.db" "UPDATE rotation_policies SET policy = replace(policy, 'P90D', 'P1D') \
    WHERE key_id = (SELECT id FROM keys WHERE name_lc = 'steady')"
should_fail 6 "integrity check failed for the rotation policy of key" \
    azkm key rotation-policy show --vault-name rot --name steady
rc=0
azkm rotation run >run.out 2>run.err || rc=$?
expect_eq "$rc" 6 "run exit code"
expect_match "$(cat run.out)" "rot/steady: failed: vault rot: integrity check failed" "failure line"
should_fail 6 "IntegrityCheckFailed: vault rot: integrity check failed for the rotation policy of key steady" \
    azkm vault verify --name rot
should_fail 6 "integrity check failed for the rotation policy of key steady" \
    azkm key rotate --vault-name rot --name steady
ok azkm key rotation-policy set --vault-name rot --name steady --clear >/dev/null
expect_match "$(ok azkm vault verify --name rot)" "vault rot: ok" "verify after the policy was cleared"

step "the shipped systemd timer and service"
mkdir units
sed "s#^ExecStart=/usr/local/bin/azkm #ExecStart=$AZKM #" "$CONF_DIR/azkm-rotation.service" >units/azkm-rotation.service
cp "$CONF_DIR/azkm-rotation.timer" units/
grep -q '^ExecStart=/usr/local/bin/azkm rotation run$' "$CONF_DIR/azkm-rotation.service" || fail "ExecStart changed"
grep -q '^Unit=azkm-rotation.service$' units/azkm-rotation.timer || fail "the timer does not start the service"
if command -v systemd-analyze >/dev/null; then
    (cd units && systemd-analyze verify azkm-rotation.service azkm-rotation.timer) ||
        fail "systemd-analyze rejects the units"
fi
# run the service's command as systemd would (environment from the test's keystore)
cmd=$(sed -n 's/^ExecStart=//p' units/azkm-rotation.service)
out=$($cmd) || fail "the service's ExecStart failed: $cmd"
expect_match "$out" "rot: nothing due" "ExecStart run"

pass
