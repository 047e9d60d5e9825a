#!/usr/bin/env bash
# parley id revocation / id revoke / contact revoke through the real CLI and
# relay: the United States keeps a revocation file apart and later revokes
# its key with it; Iran's client applies the revocation from the session,
# shows the contact revoked and refuses to send to it; a statement signed
# by a stranger, or damaged, is refused and Iran keeps its contact; the
# revoked vault sends nothing; and whoever seized the key and undid the
# revoked mark in the vault file cannot get an envelope accepted.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/stranger"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
meet() {
	p "$1" contact add "$3" "$(key "$2")" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
status() { p "$B" --json contact show "United States" | jq -r '.verified, .revoked // "no"' | tr '\n' ' '; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$M:Stranger"; do
	p "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
meet "$A" "$B" Iran && meet "$B" "$A" "United States"
ok "two vaults meet"
p "$A" send Iran "before" >/dev/null 2>&1
check "Iran reads a note from the United States" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 1

# The certificate, kept apart.
check "id revocation writes the file" quiet p "$A" id revocation --out "$T/us.rev"
check "  of 120 bytes, mode 0600" test "$(stat -c '%s %a' "$T/us.rev")" = "120 600"
p "$A" id revocation --out "$T/us.rev" 2>"$T/err"; rc=$?
check "  and never replaces a file (non-zero, one line)" bash -c "[ $rc -ne 0 ] && [ \$(wc -l <'$T/err') -eq 1 ]"
check "the vault still sends after writing it" quiet p "$A" send Iran "still here"

# Forged statements handed to Iran by hand.
p "$M" id revocation --out "$T/stranger.rev" >/dev/null 2>&1
p "$B" contact revoke "United States" --statement "$T/stranger.rev" 2>"$T/err"; rc=$?
check "a statement signed by a stranger's key is refused (exit 5)" test $rc -eq 5
check "  with one line saying it revokes another key" bash -c "one_error() { [ \$(wc -l <\"\$1\") -eq 1 ] && grep -q '^parley: ' \"\$1\"; }; one_error '$T/err' && grep -q 'another key' '$T/err'"
check "  and Iran keeps the United States verified, not revoked" test "$(status)" = "true no "
flip "$T/us.rev" 100 "$T/bad.rev"
p "$B" contact revoke "United States" --statement "$T/bad.rev" 2>"$T/err"; rc=$?
check "the real statement with one signature byte flipped is refused (exit 5)" test $rc -eq 5
head -c 119 "$T/us.rev" >"$T/short.rev"
fails "a truncated statement is refused" quiet p "$B" contact revoke "United States" --statement "$T/short.rev"
check "  and Iran still has the United States unrevoked" test "$(status)" = "true no "
fails "a vault refuses a statement for another key as its own" quiet p "$A" id revoke --from "$T/stranger.rev"
check "  and is not revoked by trying" quiet p "$A" send Iran "not revoked yet"

# The revocation, sent from the file kept apart.
p "$A" --json id revoke --from "$T/us.rev" >"$T/rv.json" 2>"$T/rv.err"
check "id revoke --from FILE tells Iran and delivers" quiet jq -e '.told == 1 and .delivered >= 1' "$T/rv.json"
p "$A" send Iran "after" 2>"$T/err"; rc=$?
check "the revoked vault refuses to send (exit 5)" test $rc -eq 5
check "  with the line: identity revoked, create a new vault" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q \"this vault's identity was revoked on .*; create a new vault (parley init) and meet your contacts again\" '$T/err'"
fails "  and refuses to revoke twice" quiet p "$A" id revoke
fails "  and to write another revocation" quiet p "$A" id revocation --out "$T/again.rev"

p "$B" --json sync >"$T/sync.json" 2>"$T/sync.err"
check "Iran's sync applies the revocation" quiet jq -e '.revoked == 1 and .revoke_refused == 0' "$T/sync.json"
check "  and says so" grep -q 'revoked their key' "$T/sync.err"
check "contact list shows the United States REVOKED" bash -c "'$PARLEY' --vault '$B' contact list | grep -q '^United States  *REVOKED'"
check "contact show gives the date" bash -c "'$PARLEY' --vault '$B' contact show 'United States' | grep -q '^revoked: *20'"
p "$B" send "United States" "hello?" 2>"$T/err"; rc=$?
check "Iran's send to the United States is refused (exit 5)" test $rc -eq 5
check "  with the one line" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q \"United States's key was revoked by its owner on 20.*; nothing is sent to it; verify a new key in person\" '$T/err'"
check "  and nothing was queued" test "$(p "$B" --json thread "United States" | jq '[.[] | select(.dir == "out")] | length')" = 0
check "applying the same file again changes nothing" quiet p "$B" contact revoke "United States" --statement "$T/us.rev"

# Whoever seized the laptop (vault and passphrase) deletes the revoked mark
# and sends under the key: Iran refuses the envelope.
"$VAULTSQL" "$A" "DELETE FROM counters WHERE k LIKE 'revoked:%'"
check "the seizer, with the mark deleted, can send again" quiet p "$A" send Iran "I am still the United States"
p "$B" --json sync >"$T/sync2.json" 2>/dev/null
check "Iran refuses the envelope under the revoked key" quiet jq -e '.from_revoked == 1 and .received == 0' "$T/sync2.json"
check "  and stores nothing of it" test "$(p "$B" --json thread "United States" | jq '[.[] | select(.text == "I am still the United States")] | length')" = 0

echo "1..$_n"
