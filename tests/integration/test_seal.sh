#!/usr/bin/env bash
# test_seal.sh — the sealed vault file through the real CLI (issue 13):
# an office's vault folder shows no contact, key or time; the attack of
# setting verified = 1 in the file without the passphrase fails, and any
# changed byte makes parley refuse the vault with one line instead of
# obeying it; an unsealed vault.db of the earlier format is converted once.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
A="$T/usa" B="$T/iran"
p() { "$PARLEY" --vault "$@"; }
key() { p "$1" --json id | jq -r .key; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }

start_relay relay || { notok "relay starts"; exit 1; }
p "$A" init --name "United States" --relay "$RELAY_URL" >/dev/null 2>&1
p "$B" init --name "Iran" --relay "$RELAY_URL" >/dev/null 2>&1
KB=$(key "$B")
p "$A" contact add Iran "$KB" >/dev/null 2>&1
p "$B" contact add "United States" "$(key "$A")" >/dev/null 2>&1
p "$A" send Iran "the list of names for the crossing" >/dev/null 2>&1

check "the vault folder holds the sealed file and the lock only" \
	test "$(ls "$A" | tr '\n' ' ')" = "vault.lock vault.pv "
# The names, the relay and the keys are in the vault, as parley shows them.
check "  parley shows the unverified contact" bash -c "p() { \"$PARLEY\" --vault \"\$@\"; }; p '$A' --json contact list | jq -e '.[] | select(.name == \"Iran\" and .verified == false)' >/dev/null"
for needle in Iran "United States" "$RELAY_URL" "the list of names" queued; do
	check "  the raw files do not show \"$needle\"" bash -c "! grep -rqaF '$needle' '$A'"
done
# (in python: a key's bytes may hold a NUL or a newline, which grep cannot take)
check "  nor the contact's key (binary or hex)" python3 -c '
import os, sys
k = bytes.fromhex(sys.argv[1]); d = sys.argv[2]
for f in os.listdir(d):
    b = open(os.path.join(d, f), "rb").read()
    if k in b or sys.argv[1].encode() in b.lower():
        sys.exit(1)
' "$KB" "$A"

# The attack: verified = 1 written into the file without the passphrase.
cp "$A/vault.pv" "$T/good.pv"
fails "sqlite3 cannot edit the sealed file" sqlite3 "$A/vault.pv" "UPDATE contacts SET verified = 1" 2>/dev/null
cmp -s "$A/vault.pv" "$T/good.pv" || cp "$T/good.pv" "$A/vault.pv"
size=$(stat -c %s "$A/vault.pv")
for pos in 5 30 100 $((size / 3)) $((size / 2)) $((size - 1)); do
	flip "$T/good.pv" "$pos" "$A/vault.pv"
	cp "$A/vault.pv" "$T/bad.pv"
	p "$A" send Iran "sent under a forged flag" >/dev/null 2>"$T/err"
	rc=$?
	check "a byte changed at $pos: send refuses (exit 3) with one line" bash -c "[ $rc -eq 3 ] && $(declare -f one_error); one_error '$T/err'"
	check "  and the file is left as it was" cmp -s "$A/vault.pv" "$T/bad.pv"
done
check "  a change in the body is named as such" grep -q "changed by someone without its passphrase" "$T/err"
cp "$T/good.pv" "$A/vault.pv"
check "the file put back opens" quiet p "$A" id
check "  and Iran is still unverified" bash -c "p() { \"$PARLEY\" --vault \"\$@\"; }; p '$A' --json contact list | jq -e '.[] | select(.name == \"Iran\" and .verified == false)' >/dev/null"

# An unsealed vault of the earlier format: converted once, with a note.
L="$T/legacy"
mkdir -m 700 "$L" && sqlite3 "$L/vault.db" <"$SRC/tests/vectors/vault/legacy-interactive.sql"
p "$L" id >"$T/out" 2>"$T/err"
check "an unsealed vault.db opens" grep -q Legacy "$T/out"
check "  with a note that it was converted and wiped" grep -q "converted to the sealed format" "$T/err"
check "  leaving no vault.db" test ! -e "$L/vault.db"
check "  nor its name in clear" bash -c "! grep -rqaF Legacy '$L'"
p "$L" id >/dev/null 2>"$T/err2"
check "  the next open has no note" bash -c "! grep -q converted '$T/err2'"
echo "1..$_n"
