#!/usr/bin/env bash
# Exported files as people send them, through the real CLI and relay: an
# agreement negotiated between three vaults (the United States, Iran with a
# Persian name, Switzerland as mediator) is exported, sent through "mail"
# (CRLF, a byte-order mark, a lost final newline, and all together) and
# still verifies, while any change to what was signed fails; verify names
# the parties and says what it proves; the text document carries every
# term and the command that checks it, and that command works; a thread
# prints the conversation.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
IRAN="جمهوری اسلامی ایران"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
# a signing move, with --yes where the CLI asks for confirmation
move() { "$@" --yes 2>/dev/null || "$@"; }
crlf() { sed 's/$/\r/' "$1"; }
bom() { printf '\357\273\277'; cat "$1"; }
nofinal() { head -c -1 "$1"; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:$IRAN" "$M:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key) KM=$("$PARLEY" --vault "$M" --json id | jq -r .key)
FA=$(pa --json id | jq -r .fingerprint) FB=$(pb --json id | jq -r .fingerprint)
meet() { # vaultX nameY keyY vaultZ nameX keyX
	"$PARLEY" --vault "$1" contact add "$2" "$3" >/dev/null 2>&1
	"$PARLEY" --vault "$4" contact add "$5" "$6" >/dev/null 2>&1
	local sn
	sn=$("$PARLEY" --vault "$1" --json contact show "$2" | jq -r .safety_number)
	"$PARLEY" --vault "$1" contact verify "$2" "$sn" >/dev/null 2>&1
	"$PARLEY" --vault "$4" contact verify "$5" "$sn" >/dev/null 2>&1
}
meet "$A" Iran "$KB" "$B" "ایالات متحده" "$KA"
meet "$A" Switzerland "$KM" "$M" "United States" "$KA"
meet "$B" Switzerland "$KM" "$M" Iran "$KB"
check "three parties verified" jq -e 'length == 2 and all(.verified)' <(pa --json contact list)

SHEIKH=$(pa case add --name "احمد شیخ‌زاده" --held-by "United States" --nationality Iran --born 1956-03-02)
NAMAZI=$(pa case add --name "Baquer Namazi" --held-by Iran --nationality US,Iran --born 1936-01-01 --shared-summary "81, emergency pacemaker")
P=$(move pa propose Iran --we-release "$SHEIKH" --they-release "$NAMAZI" --place "Geneva" \
	--sequencing simultaneous --mediator Switzerland --condition "medical check before transfer" --expires 14d)
check "the US proposes" test ${#P} -eq 16
pa send Iran "بسیار خب؛ we will reply soon" >/dev/null 2>&1
pb sync >/dev/null 2>&1
check "Iran accepts" quiet move pb accept "$P"
pb sync >/dev/null 2>&1
pa sync >/dev/null 2>&1

# --- the JSON agreement, as mail and Windows hand it back ------------------------
check "export agreement (US)" quiet pa export agreement "$P" --out "$T/agreement.json"
check "export agreement (Iran)" quiet pb export agreement "$P" --out "$T/agreement-ir.json"
n=0 bad=0
for how in crlf bom nofinal "crlf bom" "crlf nofinal" "bom nofinal" "crlf bom nofinal"; do
	cp "$T/agreement.json" "$T/m.json"
	for step in $how; do $step "$T/m.json" >"$T/m2.json"; mv "$T/m2.json" "$T/m.json"; done
	n=$((n + 1))
	cmp -s "$T/m.json" "$T/agreement.json" && { bad=$((bad + 1)); echo "# $how changed nothing"; }
	"$PARLEY" verify "$T/m.json" --expect-key "$KA" --expect-key "$KB" >/dev/null 2>"$T/err" || { bad=$((bad + 1)); echo "# $how: $(cat "$T/err")"; }
done
check "all $n combinations of CRLF, BOM and a lost final newline verify" test $bad -eq 0
# a change to what was signed, in the converted file: a letter of the
# proposal's base64 and of a party's name
crlf "$T/agreement.json" >"$T/c.json"
python3 - "$T/c.json" "$T/sig.json" "$T/name.json" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
i = b.index(b'"proposal": "') + 40
c = bytes([b[i] ^ 1]) if chr(b[i] ^ 1).isalnum() else b"A" if b[i:i+1] != b"A" else b"B"
open(sys.argv[2], "wb").write(b[:i] + c + b[i + 1:])
open(sys.argv[3], "wb").write(b.replace(b'"United States"', b'"United Kingdom"', 1))
PY
"$PARLEY" verify "$T/sig.json" >/dev/null 2>"$T/err"; rc=$?
check "a changed byte of the signed proposal still fails (exit $rc)" test $rc -eq 5 -o $rc -eq 6
"$PARLEY" verify "$T/name.json" >/dev/null 2>"$T/err"; rc=$?
check "a changed party name fails (exit 5): the names are signed" test $rc -eq 5
printf 'x\r' >>"$T/c.json"
fails "a stray CR is not framing" "$PARLEY" verify "$T/c.json" 2>/dev/null

# --- what verify says ---------------------------------------------------------------
"$PARLEY" verify "$T/agreement.json" >"$T/v.txt"
check "verify names the parties beside their fingerprints" bash -c "grep -qF 'proposer: United States, key fingerprint $FA' $T/v.txt && grep -qF 'accepter: Iran, key fingerprint $FB' $T/v.txt"
check "  and says it proves only that these keys signed" grep -q "proves only that these two keys signed, not who holds them" "$T/v.txt"
check "  and every term: Persian name, nationality, born, place, mediator, condition" bash -c "grep -qF -- '- احمد شیخ‌زاده, nationality Iran, born 1956-03-02, held by United States' $T/v.txt && grep -q 'place: Geneva' $T/v.txt && grep -q 'mediator: Switzerland' $T/v.txt && grep -q 'condition 1: medical check before transfer' $T/v.txt && grep -q 'humanitarian: 81, emergency pacemaker' $T/v.txt"
check "  but never the priority" bash -c "! grep -qi priority $T/v.txt"
"$PARLEY" verify "$T/agreement.json" --expect-key "$KB" >"$T/v.txt"
check "with --expect-key it says which party matched" grep -qF "expect-key matched the accepter, Iran:" "$T/v.txt"
"$PARLEY" verify "$T/agreement-ir.json" >"$T/v.txt"
check "Iran's export names the parties in Persian, as Iran's labels" bash -c "grep -qF 'accepter: $IRAN, key fingerprint $FB' $T/v.txt && grep -qF 'proposer: ایالات متحده' $T/v.txt && grep -qF \"names are $IRAN's labels\" $T/v.txt"
check "verify --json carries the names" jq -e '.proposer.name == "United States" and .accepter.name == "Iran" and .names_signed_by == "proposer" and (.proves | startswith("only"))' <("$PARLEY" --json verify "$T/agreement.json")

# --- the document for people -----------------------------------------------------------
check "export agreement --format text" quiet pa export agreement "$P" --format text --out "$T/agreement.txt"
D="$T/agreement.txt"
check "  parties by name with fingerprints" bash -c "grep -qF 'Between United States and Iran.' $D && grep -qF '   United States, the proposing party' $D && grep -qF 'key fingerprint $FA' $D && grep -qF 'key fingerprint $FB' $D"
check "  who releases whom, with nationality and date of birth" bash -c "grep -qF '1. United States releases:' $D && grep -qF '   - احمد شیخ‌زاده, nationality Iran, born 1956-03-02' $D && grep -qF '2. Iran releases:' $D && grep -qF '   - Baquer Namazi, nationality US,Iran, born 1936-01-01' $D"
check "  place, sequencing, conditions, mediator, dates" bash -c "grep -qF '3. Place: Geneva' $D && grep -qF '4. Sequencing: simultaneous' $D && grep -qF '   a) medical check before transfer' $D && grep -qF '6. Mediator: Switzerland' $D && grep -q '   Proposed: 20' $D && grep -q '   Offer open until: 20' $D && grep -q '   Accepted: 20' $D"
check "  a signature block" bash -c "grep -qF 'Proposed and signed by United States' $D && grep -qF 'Accepted and signed by Iran' $D"
cmd=$(sed -n '/^    parley verify /,/--expect-key [0-9a-f]*$/p' "$D" | tr -d '\\\n' | tr -s ' ')
check "  the check command names the file and both keys" test "$cmd" = " parley verify agreement.txt --expect-key $KA --expect-key $KB"
check "  and that exact command checks it" bash -c "cd $T && PATH=$PARLEY_BUILD:\$PATH $cmd >$T/dv.txt"
check "  saying the text is what the signed agreement says" grep -q "valid agreement document: its text is exactly what the signed agreement" "$T/dv.txt"
crlf "$D" >"$T/m.txt"; bom "$T/m.txt" >"$T/m2.txt"; nofinal "$T/m2.txt" >"$T/m.txt"
check "  the document through mail (CRLF, BOM, no final newline) verifies" quiet "$PARLEY" verify "$T/m.txt"
sed 's/3\. Place: Geneva/3. Place: Vienna/' "$D" >"$T/m.txt"
"$PARLEY" verify "$T/m.txt" >/dev/null 2>"$T/err"; rc=$?
check "  a changed word in the text fails (exit 5)" test $rc -eq 5
sed 's/born 1956-03-02/born 1966-03-02/' "$D" >"$T/m.txt"
fails "  a changed date of birth fails" "$PARLEY" verify "$T/m.txt" 2>/dev/null
check "export agreement --format pdf" quiet pa export agreement "$P" --format pdf --out "$T/agreement.pdf"
pdftotext -enc UTF-8 "$T/agreement.pdf" "$T/pdf.txt"
check "  the PDF reads back (pdftotext): parties, terms, signatures" bash -c "grep -qF 'Between United States and Iran.' $T/pdf.txt && grep -qF '3. Place: Geneva' $T/pdf.txt && grep -qF '6. Mediator: Switzerland' $T/pdf.txt && grep -qF 'Accepted and signed by Iran' $T/pdf.txt && grep -qF '$FA' $T/pdf.txt"
check "  with the Persian name, in logical order" python3 -c "
import sys; t = open('$T/pdf.txt', encoding='utf-8').read()
sys.exit(0 if 0 <= t.find('احمد') < t.find('زاده') and 'nationality Iran, born 1956-03-02' in t else 1)"
check "  and the check command names the text document" grep -qF "parley verify agreement.txt" "$T/pdf.txt"
fails "--format text of a thread is refused" pa export thread Iran --format text --out "$T/t.txt" 2>/dev/null

# --- a thread: the conversation ------------------------------------------------------------
check "export thread" quiet pa export thread Iran --out "$T/thread.json"
crlf "$T/thread.json" >"$T/m.json"
"$PARLEY" verify "$T/m.json" >"$T/t.txt"
check "a CRLF thread verifies" test $? -eq 0
check "  naming both parties" grep -qF "valid thread exported by United States with Iran: every signature verifies" "$T/t.txt"
check "  and prints the conversation: the note" grep -qF "    بسیار خب؛ we will reply soon" "$T/t.txt"
check "  the proposal with every term" bash -c "grep -qF 'United States to Iran, signed by United States:' $T/t.txt && grep -qF '        - احمد شیخ‌زاده, nationality Iran' $T/t.txt && grep -qF '      place: Geneva' $T/t.txt"
check "  and the acceptance" bash -c "grep -qF 'Iran to United States, signed by Iran:' $T/t.txt && grep -qF \"    accepts proposal $P\" $T/t.txt"
echo "1..$_n"
