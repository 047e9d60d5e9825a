#!/usr/bin/env bash
# A relay caught forking its log, proved offline: the real parley-relay is
# rolled back to an old copy of its data directory (same key), then grows a
# different history past what a vault saw. The vault refuses it, asks it for
# its checkpoint of the size it had signed before (another root: a fork)
# and for the leaf it now holds where a receipt proved another (a
# rewrite), and `parley relay evidence --out` writes a file that `parley verify` says
# proves it, under the relay's published key, with nothing but the file.
# A rollback alone is written too, but verify never calls it proved.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# note_offset FILE size|root: the offset of the first digit of the size, or
# of a character of the root, in the first checkpoint note of FILE (where
# the note's newlines are JSON's two characters \n).
note_offset() {
	python3 - "$1" "$2" <<'PY'
import sys
b = open(sys.argv[1], "rb").read(); i = b.index(b'"checkpoint": "')
nl = b.index(b"\\n", i)
print(nl + 2 if sys.argv[2] == "size" else b.index(b"\\n", nl + 2) + 7)
PY
}

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key)
pa contact add Iran "$KB" >/dev/null 2>&1 && pb contact add "United States" "$KA" >/dev/null 2>&1
SN=$(pa --json contact show Iran | jq -r .safety_number)
pa contact verify Iran "$SN" >/dev/null 2>&1 && pb contact verify "United States" "$SN" >/dev/null 2>&1
VKEY=$(timeout 10 "$RELAY" --print-key --data "$T/relay" 2>/dev/null | head -n 1)

for i in 1 2; do pa outreach Iran --topic "outreach $i" >/dev/null 2>&1; done
pb sync >/dev/null 2>&1
pa sync >/dev/null 2>&1
pa relay evidence --out "$T/none.json" >"$T/none.out" 2>&1
check "no evidence: relay evidence --out exits 0" test $? -eq 0
check "  says so in one line" bash -c "[ \$(wc -l <'$T/none.out') -eq 1 ] && grep -q 'no evidence against the relay is stored' '$T/none.out'"
check "  and writes no file" test ! -e "$T/none.json"

# The copy the relay will be rolled back to (same relay.key inside).
stop_relay
cp -a "$T/relay" "$T/relay.old"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
for i in 3 4; do pa outreach Iran --topic "outreach $i" >/dev/null 2>&1; done
pa sync >/dev/null 2>&1
S1=$("$VAULTSQL" "$A" 'SELECT max(size) FROM checkpoints')
stop_relay
rm -rf "$T/relay" && cp -a "$T/relay.old" "$T/relay"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"

# Rollback: a smaller tree. Refused; written; not provable offline.
pa sync >/dev/null 2>"$T/r.err"
check "a relay rolled back to an old copy is refused (exit 5)" test $? -eq 5
pa --json relay evidence --out "$T/rollback.json" >"$T/rb.json" 2>&1
check "relay evidence --out writes the rollback as a report" quiet jq -e '.proved == 0 and .reported >= 1' "$T/rb.json"
"$PARLEY" verify "$T/rollback.json" --relay-key "$VKEY" >"$T/rbv.out" 2>"$T/rbv.err"
check "  verify exits 5 on a file that proves nothing" test $? -eq 5
check "  with one error line saying nothing in it is provable offline" bash -c "one_error() { [ \$(wc -l <\"\$1\") -eq 1 ] && grep -q '^parley: ' \"\$1\"; }; one_error '$T/rbv.err' && grep -q 'nothing in this file is provable offline' '$T/rbv.err'"
check "  it prints the report as not provable, and never 'proved'" bash -c "grep -q 'not provable offline, reported by the vault' '$T/rbv.out' && ! grep -qi 'proved' '$T/rbv.out'"

# Fork: Iran (whose vault saw only the old tree) deposits until the tree
# is larger than the one the United States accepted, with another history.
for i in 1 2 3 4; do pb send "United States" "fork $i" >/dev/null 2>&1; done
pa sync >/dev/null 2>"$T/f.err"
check "the forked relay is refused (exit 5)" test $? -eq 5
check "  its checkpoint of size $S1 is kept beside the one the vault accepted" quiet jq -e 'any(.[]; .reason | test("two different trees of the same size"))' <(pa --json relay evidence)
pa --json relay evidence --out "$T/fork.json" >"$T/fk.json" 2>&1
check "relay evidence --out: at least one statement proved" quiet jq -e '.proved >= 1 and .relay_key == "'"$VKEY"'"' "$T/fk.json"
"$PARLEY" verify "$T/fork.json" --relay-key "$VKEY" >"$T/fv.out" 2>"$T/fv.err"
check "parley verify proves the fork against the relay's published key (exit 0)" test $? -eq 0
check "  and says so: two different trees of $S1 leaves, proved" grep -q "proved: the relay signed two different trees of $S1 leaves" "$T/fv.out"
check "  and keeps the rollback a report, not provable" grep -q 'not provable offline' "$T/fv.out"
# the vault's receipt of outreach 4 (a leaf past the rolled-back size) set
# against the leaf the forked relay now proves at that index: a rewrite
check "  and a receipt's leaf against the relay's new leaf there: proved rewrite" grep -q 'proved: the relay signed trees of [0-9]* and [0-9]* leaves that hold different leaves at index' "$T/fv.out"
"$PARLEY" verify "$T/fork.json" >"$T/fv2.out" 2>&1
check "without --relay-key it prints the key inside for the reader to compare" bash -c "grep -qF '$VKEY' '$T/fv2.out' && grep -q 'compare it' '$T/fv2.out'"
"$PARLEY" --json verify "$T/fork.json" >"$T/fv.json" 2>&1
check "--json verify: valid, proved >= 1" quiet jq -e '.valid == true and .proved >= 1 and .format == "parley-relay-evidence"' "$T/fv.json"
OTHER=$(mkdir -p "$T/other" && timeout 10 "$RELAY" --print-key --data "$T/other" 2>/dev/null | head -n 1)
fails "verify against another relay's key fails" "$PARLEY" verify "$T/fork.json" --relay-key "$OTHER" 2>"$T/err"
check "  with one error line" one_error "$T/err"

# Tampering through the real CLI: a checkpoint's signature, a root, a size.
bad=0
sig=$(value_offset "$T/fork.json" checkpoint 8)
root=$(note_offset "$T/fork.json" root)
size=$(note_offset "$T/fork.json" size)
for pos in "$sig" "$root" "$size"; do
	flip "$T/fork.json" "$pos" "$T/flip.json"
	"$PARLEY" verify "$T/flip.json" --relay-key "$VKEY" >/dev/null 2>"$T/err"
	rc=$?
	if { [ $rc -ne 5 ] && [ $rc -ne 6 ]; } || ! one_error "$T/err"; then bad=$((bad + 1)); echo "# flip at $pos: exit $rc, $(head -c 200 "$T/err")"; fi
done
check "a flipped signature, root or size: refused (exit 5 or 6), one error line" test $bad -eq 0
cp "$T/fork.json" "$T/again.json"
pa relay evidence --out "$T/again.json" >/dev/null 2>&1
check "relay evidence --out replaces an existing file, as parley export does" cmp -s "$T/again.json" "$T/fork.json"
cat "$T/fv.out" "$T/rbv.out" "$T/rbv.err" | sed "s/^/# /"
echo "1..$_n"
