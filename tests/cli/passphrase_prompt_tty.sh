#!/usr/bin/env bash
# On a terminal the passphrase is asked for with echo off: twice (must match) for a new vault, once to unlock,
# and the typed text never shows in the terminal transcript. Runs azkm under script(1) for a pseudo-terminal
# and types only after the prompt is visible.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || fail "script(1) from bsdutils is needed"

# on_tty TRANSCRIPT CMD LINE...: runs CMD on a pseudo-terminal, typing each LINE once its prompt has appeared.
on_tty() {
    local transcript=$1 cmd=$2 n=0 line
    shift 2
    rm -f "$TMP/tty.in"
    mkfifo "$TMP/tty.in"
    script -qfec "$cmd" /dev/null <"$TMP/tty.in" >"$transcript" 2>&1 &
    local pid=$!
    exec 7>"$TMP/tty.in"
    for line in "$@"; do
        n=$((n + 1))
        for _ in $(seq 100); do
            [ "$(grep -o 'passphrase[^:]*:' "$transcript" | wc -l)" -ge $n ] && break
            sleep 0.1
        done
        printf '%s\n' "$line" >&7
    done
    local rc=0
    wait $pid || rc=$?
    exec 7>&-
    return $rc
}

step "create: asked twice, echo off"
on_tty create.out "$AZKM vault create --name tty --protector passphrase" "typed-secret-1" "typed-secret-1" ||
    fail "vault create on a terminal: $(cat create.out)"
grep -q "new passphrase for vault tty:" create.out || fail "no prompt: $(cat create.out)"
grep -q "repeat the passphrase:" create.out || fail "no confirmation prompt: $(cat create.out)"
grep -q "Protector *passphrase" create.out || fail "vault not shown: $(cat create.out)"
if grep -q "typed-secret" create.out; then fail "the passphrase was echoed"; fi

step "unlock: asked once"
on_tty show.out "$AZKM key create --vault-name tty --name k --kty EC" "typed-secret-1" ||
    fail "key create on a terminal: $(cat show.out)"
grep -q "passphrase to unlock vault tty:" show.out || fail "no unlock prompt: $(cat show.out)"
grep -q "Key ID *azkm://tty/keys/k/" show.out || fail "key not created: $(cat show.out)"

step "a wrong passphrase typed: exit 7"
rc=0
on_tty wrong.out "$AZKM key show --vault-name tty --name k" "typed-wrong-1" || rc=$?
expect_eq "$rc" 7 "exit code"
grep -q "azkm: error: Unauthorized: vault tty: wrong passphrase" wrong.out || fail "no error: $(cat wrong.out)"

step "the two new passphrases differ: nothing created"
rc=0
on_tty differ.out "$AZKM vault create --name tty2 --protector passphrase" "typed-secret-1" "typed-secret-2" || rc=$?
expect_eq "$rc" 7 "exit code"
grep -q "differ" differ.out || fail "no reason given: $(cat differ.out)"
should_fail 3 "NotFound: vault tty2" azkm vault show --name tty2
pass
