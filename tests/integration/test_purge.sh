#!/usr/bin/env bash
# parley purge through the real CLI and relay: notes on both sides before
# the cutoff are deleted and their sealed bodies are no longer in the raw
# vault files; the signed proposal, notes after the cutoff and a note still
# queued (the relay is down) are kept until delivered; the thread and its export still work; bad or future
# dates are refused and change nothing.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
meet() {
	p "$1" contact add "$3" "$(key "$2")" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}
# hex of the sealed body of A's note with this text's item (found by id)
blob_of() { "$VAULTSQL" "$A" "SELECT hex(body) FROM items WHERE hex(id) = upper('$1')"; }
# raw_has HEX: the bytes are somewhere in the vault's database image (free
# pages included), as whoever has the vault and its passphrase could read it
raw_has() { "$VAULTSQL" "$A" .image | grep -qi "$1"; }

start_relay relay || { notok "relay starts"; exit 1; }
p "$A" init --name "United States" --relay "$RELAY_URL" >/dev/null 2>&1
p "$B" init --name Iran --relay "$RELAY_URL" >/dev/null 2>&1
meet "$A" "$B" Iran && meet "$B" "$A" "United States"
ok "two vaults meet on a real relay"

N1=$(p "$A" --json send Iran "early note: the list has two names" 2>/dev/null | jq -r .id)
p "$B" sync >/dev/null 2>&1
N2=$(p "$B" --json send "United States" "early reply: we need a third" 2>/dev/null | jq -r .id)
p "$A" sync >/dev/null 2>&1
A_SHEIKH=$(p "$A" case add --name "Ahmad Sheikhzadeh" --held-by "United States")
A_NAMAZI=$(p "$A" case add --name "Baquer Namazi" --held-by Iran)
P1=$(p "$A" propose --yes Iran --we-release "$A_SHEIKH" --they-release "$A_NAMAZI" --place Vienna)
p "$B" sync >/dev/null 2>&1
check "notes both ways and a proposal, all before the cutoff" test ${#N1} -eq 16 -a ${#N2} -eq 16 -a ${#P1} -eq 16
check "  A holds both notes" quiet jq -e --arg a "$N1" --arg b "$N2" '([.[] | select(.id == $a or .id == $b)] | length) == 2' <(p "$A" --json thread Iran)
check "  and its inbox shows Iran's note" quiet jq -e --arg b "$N2" 'any(.[]; .id == $b)' <(p "$A" --json inbox)

# a note the relay never got: stays queued while the relay is down
stop_relay
p "$A" send Iran "early queued note: not yet delivered" >/dev/null 2>&1
NQ=$(p "$A" --json thread Iran | jq -r '.[] | select(.state == "queued") | .id')
check "a note sent while the relay is down stays queued" test ${#NQ} -eq 16

sleep 1.1
CUT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
p "$A" send Iran "late note: after the cutoff" >/dev/null 2>&1
N3=$(p "$A" --json thread Iran | jq -r '.[] | select(.state == "queued") | .id' | grep -v "$NQ")
check "a note after the cutoff is in the thread" test ${#N3} -eq 16

B1=$(blob_of "$N1") B2=$(blob_of "$N2") BP=$(blob_of "$P1")
check "the sealed bodies of the early notes are in the raw vault files" bash -c "[ \${#1} -gt 64 ] && [ \${#2} -gt 64 ]" _ "$B1" "$B2"
check "  (the scan sees them)" bash -c "$(declare -f raw_has); A='$A'; VAULTSQL='$VAULTSQL'; raw_has '$B1' && raw_has '$B2'"

cp -r "$A" "$T/us.before"
fails "a date in the future is refused" p "$A" purge --notes-before 2999-01-01 2>"$T/err"
check "  with one line saying it is in the future" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'in the future' '$T/err'"
fails "a date that does not exist is refused" p "$A" purge --notes-before 2026-02-30 2>/dev/null
fails "a date with a local offset is refused" p "$A" purge --notes-before 2026-01-01T00:00:00+01:00 2>/dev/null
fails "a word is refused" p "$A" purge --notes-before yesterday 2>/dev/null
fails "purge without --notes-before is refused" p "$A" purge 2>/dev/null
check "  and none of them touched the vault" cmp -s "$A/vault.pv" "$T/us.before/vault.pv"
rm -rf "$T/us.before"

p "$A" purge --notes-before "$CUT" >"$T/out" 2>&1
check "purge reports two notes and that negotiation moves are kept" grep -qx "purged 2 notes sent or received before $CUT; negotiation moves are kept" "$T/out"
check "  and says the queued note was kept" grep -q "kept 1 notes before $CUT that are still queued" "$T/out"

p "$A" --json thread Iran >"$T/t.json"
check "the thread has lost both early notes" quiet jq -e --arg a "$N1" --arg b "$N2" 'all(.[]; .id != $a and .id != $b)' "$T/t.json"
check "  keeps the proposal, the late note and the queued note" quiet jq -e --arg p "$P1" --arg l "$N3" --arg q "$NQ" '(any(.[]; .id == $p and .kind == "proposal")) and any(.[]; .id == $l) and any(.[]; .id == $q and .state == "queued")' "$T/t.json"
check "  the plain thread says notes before the cutoff were purged" bash -c "p() { \"$PARLEY\" --vault \"\$1\" thread Iran; }; p '$A' | tail -n 1 | grep -qx '(notes before $CUT were purged from this vault)'"
check "  the inbox no longer shows the purged incoming note" quiet jq -e --arg b "$N2" 'all(.[]; .id != $b)' <(p "$A" --json inbox)
check "  and the other side's vault still has them (a purge is local)" quiet jq -e --arg a "$N1" --arg b "$N2" '([.[] | select(.id == $a or .id == $b)] | length) == 2' <(p "$B" --json thread "United States")
check "the purged sealed bodies are gone from the database image, free pages included" bash -c "$(declare -f raw_has); A='$A'; VAULTSQL='$VAULTSQL'; ! raw_has '$B1' && ! raw_has '$B2'"
check "  while the proposal's sealed body is still there" bash -c "$(declare -f raw_has); A='$A'; VAULTSQL='$VAULTSQL'; raw_has '$BP'"

check "a thread export after the purge is written" quiet p "$A" export thread Iran --out "$T/thread.json"
check "  verifies" quiet p "$A" verify "$T/thread.json"
check "  and holds no purged text" bash -c "! grep -q 'early note\|early reply' '$T/thread.json' && grep -q 'late note' '$T/thread.json'"

start_relay relay --listen "127.0.0.1:$RELAY_PORT" || { notok "relay restarts"; exit 1; }
p "$A" sync >/dev/null 2>&1
check "the queued note is delivered by the next sync" quiet jq -e --arg q "$NQ" '.[] | select(.id == $q) | .state != "queued"' <(p "$A" --json thread Iran)
p "$A" --json purge --notes-before "$CUT" >"$T/p2.json" 2>/dev/null
check "once delivered, a second purge takes it" quiet jq -e '.purged == 1 and .kept_queued == 0' "$T/p2.json"
check "  and the thread keeps the proposal and the late note" quiet jq -e --arg p "$P1" --arg q "$NQ" --arg l "$N3" 'any(.[]; .id == $p) and any(.[]; .id == $l) and all(.[]; .id != $q)' <(p "$A" --json thread Iran)
p "$B" sync >/dev/null 2>&1
check "Iran reads the queued note and the late one" quiet jq -e --arg q "$NQ" --arg l "$N3" 'any(.[]; .id == $q) and any(.[]; .id == $l)' <(p "$B" --json thread "United States")

echo "1..$_n"
