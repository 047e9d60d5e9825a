#!/usr/bin/env bash
# Passphrases through the real CLI: weak ones refused at init and change,
# a generated one that opens the vault, a change after which only the new
# passphrase opens it, an empty PARLEY_PASSPHRASE, the test-only cost
# switch, and a vault made before the data key wrapper (INTERACTIVE cost)
# that keeps opening and can be moved to a new passphrase.
. "$(dirname "$0")/lib.sh"

V="$T/v" G="$T/gen" L="$T/legacy"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# one_error FILE: exactly one line, starting "parley: "
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# init DIR PASS: a vault on an unreachable relay (init does not need one)
init() { PARLEY_PASSPHRASE=$2 "$PARLEY" --vault "$1" init --name Oman --relay http://127.0.0.1:9 >/dev/null 2>"$T/err"; }

init "$V" short; rc=$?
check "init refuses a short passphrase (exit 2)" test $rc -eq 2
check "  in one line saying what is accepted" bash -c "one_error() { [ \$(wc -l <\"\$1\") -eq 1 ]; }; one_error '$T/err' && grep -q 'at least 12 characters' '$T/err' && grep -q 'parley init --generate-passphrase' '$T/err'"
check "  and makes no vault" test ! -e "$V/vault.pv"
fails "init refuses one repeated character" init "$V" aaaaaaaaaaaaaaaaaaaa
check "  saying it is too easy to guess" grep -q 'too easy to guess' "$T/err"
fails "init refuses a run" init "$V" abcdefghijklmnopqrs
fails "init refuses digits in a row" init "$V" 123456789012345

# The generated passphrase is printed once and opens the vault.
env -u PARLEY_PASSPHRASE "$PARLEY" --vault "$G" --json init --name Gen --relay http://127.0.0.1:9 \
	--generate-passphrase >"$T/gen.json" 2>/dev/null
check "init --generate-passphrase makes a vault" test -e "$G/vault.pv"
GP=$(jq -r .passphrase "$T/gen.json")
check "  of at least 6 words of 3-8 letters a-z" bash -c "echo '$GP' | grep -Eq '^[a-z]{3,8}(-[a-z]{3,8}){5,}$'"
check "  and at least 64 bits" jq -e '.passphrase_bits >= 64 and .passphrase_words >= 6' "$T/gen.json"
check "  that opens the vault" env PARLEY_PASSPHRASE="$GP" "$PARLEY" --vault "$G" id
fails "  which the test passphrase does not" "$PARLEY" --vault "$G" id 2>/dev/null
env -u PARLEY_PASSPHRASE "$PARLEY" --vault "$T/gen2" init --name Gen --relay http://127.0.0.1:9 \
	--generate-passphrase >"$T/gen2.out" 2>/dev/null
check "  plain output says to write it down" grep -q 'Write this passphrase down' "$T/gen2.out"
GP2=$(sed -n 's/^passphrase: *//p' "$T/gen2.out")
check "  and two runs draw different passphrases" test -n "$GP2" -a "$GP2" != "$GP"

# Empty PARLEY_PASSPHRASE.
PARLEY_PASSPHRASE= "$PARLEY" --vault "$G" id 2>"$T/err"; rc=$?
check "an empty PARLEY_PASSPHRASE is a usage error (exit 2)" test $rc -eq 2
check "  in one line saying it is empty" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'PARLEY_PASSPHRASE is set but empty' '$T/err'"

# passphrase change
check "init with a good passphrase" init "$V" "$PARLEY_PASSPHRASE"
check "  warns that the test-only cost was used" grep -q 'PARLEY_TEST_KDF=minimal' "$T/err"
printf 'short\n' >"$T/weak"
"$PARLEY" --vault "$V" passphrase change --new-passphrase-file "$T/weak" 2>"$T/err"; rc=$?
check "change refuses a weak new passphrase (exit 2)" test $rc -eq 2
check "  naming the generator" grep -q 'parley passphrase change --generate-passphrase' "$T/err"
check "  and the old passphrase still opens" "$PARLEY" --vault "$V" id
NEW="an office passphrase 2026 under glass"
printf '%s\n' "$NEW" >"$T/new"
PARLEY_PASSPHRASE=wrong "$PARLEY" --vault "$V" passphrase change --new-passphrase-file "$T/new" 2>"$T/err"; rc=$?
check "change with a wrong current passphrase fails (exit 3)" test $rc -eq 3
check "  and the old passphrase still opens" "$PARLEY" --vault "$V" id
check "passphrase change --new-passphrase-file" "$PARLEY" --vault "$V" passphrase change --new-passphrase-file "$T/new"
fails "  the old passphrase no longer opens" "$PARLEY" --vault "$V" id 2>/dev/null
check "  the new one does" env PARLEY_PASSPHRASE="$NEW" "$PARLEY" --vault "$V" id
check "passphrase change --generate-passphrase" bash -c "PARLEY_PASSPHRASE='$NEW' '$PARLEY' --vault '$V' --json passphrase change --generate-passphrase >'$T/ch.json'"
P3=$(jq -r .passphrase "$T/ch.json")
check "  the generated one opens" env PARLEY_PASSPHRASE="$P3" "$PARLEY" --vault "$V" id
fails "  the previous one no longer does" env PARLEY_PASSPHRASE="$NEW" "$PARLEY" --vault "$V" id 2>/dev/null
PARLEY_TEST_KDF=cheap "$PARLEY" --vault "$T/x" init --name X --relay http://127.0.0.1:9 2>"$T/err"; rc=$?
check "PARLEY_TEST_KDF takes no value but interactive or minimal (exit 2)" test $rc -eq 2

# kdf_cost DIR: the Argon2id passes and memory (u64 each) in the sealed
# file's header: magic (8), format (1), then the kdf record's version and
# algorithm (2) before them.
kdf_cost() { od -An -tx1 -j11 -N16 "$1/vault.pv" | tr -d ' \n'; }
# Without PARLEY_TEST_KDF a vault gets the strong cost: 256 MiB, 3 passes.
env -u PARLEY_TEST_KDF PARLEY_PASSPHRASE="$NEW" "$PARLEY" --vault "$T/strong" init --name S --relay http://127.0.0.1:9 >/dev/null 2>"$T/err"
check "a real init has the strong cost in its kdf record" test "$(kdf_cost "$T/strong")" = 00000000000000030000000010000000
check "  and prints no test-cost warning" bash -c "! grep -q PARLEY_TEST_KDF '$T/err'"

# A vault from before the data key wrapper: its own (INTERACTIVE) params.
mkdir -m 700 "$L" && sqlite3 "$L/vault.db" <"$SRC/tests/vectors/vault/legacy-interactive.sql"
check "an old vault (INTERACTIVE, no data key) still opens" bash -c "'$PARLEY' --vault '$L' id | grep -q Legacy"
check "  and its passphrase changes" env -u PARLEY_TEST_KDF "$PARLEY" --vault "$L" passphrase change --new-passphrase-file "$T/new"
check "  then opens with the new one" bash -c "PARLEY_PASSPHRASE='$NEW' '$PARLEY' --vault '$L' id | grep -q Legacy"
fails "  and not with the old one" "$PARLEY" --vault "$L" id 2>/dev/null
check "  its kdf record now has the strong cost" test "$(kdf_cost "$L")" = 00000000000000030000000010000000
echo "1..$_n"
