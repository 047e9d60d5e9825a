#!/usr/bin/env bash
# Blind matching through the real CLI and relay (docs/MATCH.md): every
# outcome of mutual intent and what each side sees; the signed commitment
# to talk exported and verified offline; acceptable packages (only the
# overlap revealed) and a list over the agreed size refused; a private
# count; the relay reordering the parts of a long list; a lost part sent
# again; a side that stops after learning, its answer lost on the way,
# shown by the log. Changing input after committing needs a dishonest
# client, so it is played in-process, against the real relay, by
# tests/unit/test_match.c.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
pa() { p "$A" "$@"; }
pb() { p "$B" "$@"; }
db() { sqlite3 "$T/relay/relay.db" "$@"; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# refused "desc" cmd...: non-zero, one error line, neither vault changed
refused() {
	local d=$1 before after rc
	shift
	before=$(cat "$A/vault.pv" "$B/vault.pv" | sha256sum)
	"$@" >/dev/null 2>"$T/err"
	rc=$?
	after=$(cat "$A/vault.pv" "$B/vault.pv" | sha256sum)
	if [ $rc -ne 0 ] && one_error "$T/err" && [ "$before" = "$after" ]; then ok "$d"; else notok "$d (rc $rc, $(cat "$T/err"))"; fi
}
jqe() { jq -e "$@" >/dev/null; }
restart() { stop_relay && start_relay relay --listen "127.0.0.1:$RELAY_PORT"; }

start_relay relay || { notok "relay starts"; exit 1; }
pa init --name "United States" --relay "$RELAY_URL" >/dev/null 2>&1
pb init --name Iran --relay "$RELAY_URL" >/dev/null 2>&1
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key)
pa contact add Iran "$KB" >/dev/null && pb contact add "United States" "$KA" >/dev/null
SN=$(pa --json contact show Iran | jq -r .safety_number)
pa contact verify Iran "$SN" >/dev/null && pb contact verify "United States" "$SN" >/dev/null
check "setup: both verified" jqe '.verified' <(pb --json contact show "United States")

# intent ANSWER_A ANSWER_B TOPIC: both run it, both sync until done; leaves
# the two show outputs in $T/ia.json and $T/ib.json.
intent() {
	pa --json match intent Iran --topic "$3" --answer "$1" >"$T/ia0.json" 2>"$T/ia0.err" || return 1
	pb --json match intent "United States" --topic "$3" --answer "$2" >"$T/ib0.json" 2>"$T/ib0.err" || return 1
	ID=$(jq -r .id "$T/ia0.json")
	for _ in 1 2 3; do pa sync >/dev/null 2>&1; pb sync >/dev/null 2>&1; done
	pa --json match show "$ID" >"$T/ia.json" && pb --json match show "$ID" >"$T/ib.json"
}

# 1. yes / yes: both learn it, and each holds the other's signed commitment.
intent yes yes "ready to negotiate a swap"
check "yes/yes: the same match id on both sides" test "$(jq -r .id "$T/ib0.json")" = "$ID"
check "yes/yes: the United States sees match" jqe '.kind == "intent" and .state == "done" and .result == "match" and .exportable == true' "$T/ia.json"
check "yes/yes: Iran sees match" jqe '.state == "done" and .result == "match"' "$T/ib.json"
check "  show --json has id, kind, state, result" jqe 'has("id") and has("kind") and has("state") and has("result")' "$T/ib.json"
check "  text view says both said yes" bash -c "'$PARLEY' --vault '$A' match show ${ID:0:8} | grep -q 'MATCH: both sides said yes'"
check "the signed commitment exports" quiet pa match export "$ID" --out "$T/intent.json"
"$PARLEY" verify "$T/intent.json" >"$T/verify.out" 2>&1; rc=$?
check "  and verifies offline (no vault)" test $rc -eq 0
check "  naming both sides and the topic" grep -q 'ready to negotiate a swap' "$T/verify.out"
cp "$T/intent.json" "$T/bad.json"
sed -i 's/ready to negotiate a swap/ready to negotiate a swan/' "$T/bad.json"
fails "  an altered topic is refused" "$PARLEY" verify "$T/bad.json"
refused "a second answer on the same topic is refused" pa match intent Iran --topic "ready to negotiate a swap" --answer no

# 2. yes / no: the yes side learns "no match"; the no side learns nothing.
intent yes no "talk about consular access"
check "yes/no: the United States (yes) sees no match" jqe '.state == "done" and .result == "no match"' "$T/ia.json"
check "yes/no: Iran (no) sees no match" jqe '.state == "done" and .result == "no match" and .answer == "no"' "$T/ib.json"
check "  the no side is told it learns nothing of their answer" bash -c "'$PARLEY' --vault '$B' match show ${ID:0:8} | grep -q 'you answered no, so you learn nothing'"
refused "  nothing to export" pa match export "$ID" --out "$T/none.json"

# 3. no / yes and 4. no / no.
intent no yes "talk about a prisoner swap in Oman"
check "no/yes: both see no match" jqe -s 'all(.[]; .state == "done" and .result == "no match")' "$T/ia.json" "$T/ib.json"
check "  the yes side (Iran) is told that is all it learns" bash -c "'$PARLEY' --vault '$B' match show ${ID:0:8} | grep -q 'that is all you learn'"
intent no no "talk about funds"
check "no/no: both see no match" jqe -s 'all(.[]; .state == "done" and .result == "no match")' "$T/ia.json" "$T/ib.json"
check "the relay holds no plaintext topic" bash -c "! sqlite3 '$T/relay/relay.db' .dump | grep -q 'talk about funds'"

# 5. Packages: only the packages on both lists are revealed.
cat >"$T/us.json" <<'EOF'
{"packages": [
  {"we_release": ["USA:111"], "they_release": ["IRN:K1"]},
  {"we_release": ["USA:111", "USA:222"], "they_release": ["IRN:K1", "IRN:K2"]},
  {"we_release": ["USA:333"], "they_release": ["IRN:K3"]}
]}
EOF
cat >"$T/ir.json" <<'EOF'
{"packages": [
  {"we_release": ["IRN:K1", "IRN:K2"], "they_release": ["USA:111", "USA:222"]},
  {"we_release": ["irn:k-3"], "they_release": ["usa 333"]},
  {"we_release": ["IRN:K9"], "they_release": ["USA:999"]}
]}
EOF
pa --json match packages Iran --file "$T/us.json" >"$T/pa.json" 2>"$T/pa.err"
check "packages: the United States commits" jqe '.kind == "packages" and .state == "committed"' "$T/pa.json"
pb --json match packages "United States" --file "$T/ir.json" >"$T/pb.json" 2>"$T/pb.err"
check "  an invalid person identifier is refused with one line naming it" bash -c "$(declare -f one_error); one_error '$T/pb.err' && grep -q 'usa 333' '$T/pb.err'"
sed -i 's/"usa 333"/"usa:333"/' "$T/ir.json"
pb --json match packages "United States" --file "$T/ir.json" >"$T/pb.json" 2>"$T/pb.err"
PID=$(jq -r .id "$T/pa.json")
check "  Iran joins the same match" test "$(jq -r .id "$T/pb.json")" = "$PID"
for _ in 1 2 3; do pa sync >/dev/null 2>&1; pb sync >/dev/null 2>&1; done
pa --json match show "$PID" >"$T/pa.json"
pb --json match show "$PID" >"$T/pb.json"
check "  the United States learns the two common packages, each from its own view" jqe '.state == "done" and (.result | length) == 2 and any(.result[]; .we_release == ["USA:111","USA:222"]) and any(.result[]; .we_release == ["USA:333"])' "$T/pa.json"
check "  Iran learns the same two, from its view" jqe '.state == "done" and (.result | length) == 2 and any(.result[]; .we_release == ["IRN:K3"])' "$T/pb.json"
check "  neither learns the other's third package" bash -c "! grep -q 'K9\|USA:999' '$T/pa.json' && ! grep -q '\"USA:111\"\\]' <(jq -c '.result[] | select(.they_release == [\"IRN:K1\"])' '$T/pb.json')"
check "  both see the other's list size and the agreed maximum" jqe '.their_size == 3 and .agreed_max == 32' "$T/pa.json"

# A matched package becomes a proposal in one command, once each person
# identifier names a record of the case file.
N=$(jq '[.result[] | .we_release == ["USA:333"]] | index(true) + 1' "$T/pa.json")
pa match propose "$PID" "$N" --yes 2>"$T/mp.err" >/dev/null; rc=$?
check "match propose: a person in no case record is refused, naming the fix" eval '[ $rc -eq 7 ] && one_error "$T/mp.err" && grep -q "person-id" "$T/mp.err"'
pa case add --name "Person 333" --held-by "United States" --person-id "usa:333" >/dev/null 2>&1
pa case add --name "Person K3" --held-by Iran --person-id "IRN:K-3" >/dev/null 2>&1
check "  case add --person-id normalises and keeps it (internal)" jqe '.[] | select(.name == "Person K3") | .person_id == "IRN:K3" and (.internal | index("person_id"))' <(pa --json case list)
pa --json match propose "$PID" "$N" --place Muscat --yes >"$T/mp.json" 2>"$T/mp.err"
check "  with the records, package $N is signed and sent as a proposal" jqe '.id | length > 0' "$T/mp.json"
pb sync >/dev/null 2>&1
check "  Iran receives it naming both people, at Muscat" bash -c "'$PARLEY' --vault '$B' --json inbox | jq -e '[.[] | select(.kind == \"proposal\")] | length == 1' >/dev/null && '$PARLEY' --vault '$B' inbox | grep -q 'Person 333'"
refused "  a package number past the result is refused" pa match propose "$PID" 3 --yes
refused "  --we-release is the package's, not given" pa match propose "$PID" "$N" --we-release 1 --yes

# 6. A list over the agreed size is refused before any list is sent.
jq '.packages |= .[0:2]' "$T/us.json" >"$T/us2.json"
pa --json match packages Iran --file "$T/us2.json" --label "small" --max 2 >"$T/sa.json" 2>/dev/null
pb --json match packages "United States" --file "$T/ir.json" --label "small" >"$T/sb.json" 2>/dev/null
SID=$(jq -r .id "$T/sa.json")
for _ in 1 2; do pa sync >/dev/null 2>&1; pb sync >/dev/null 2>&1; done
check "over the agreed size: Iran's view says refused, and why" jqe '.state == "refused" and (.why | test("over the agreed maximum of 2"))' <(pb --json match show "$SID")
check "  and the United States' too" jqe '.state == "refused" and .result == null' <(pa --json match show "$SID")
refused "  your own list over your own --max is refused at once" pa match packages Iran --file "$T/us.json" --label "tiny" --max 1

# 7. Private count, with a list long enough to travel in parts that the
# relay reorders; one part lost for good is sent again.
seq 1 2500 | sed 's/^/IRN:C/' >"$T/seek" # one per line, given as @FILE
seq 2001 6000 | sed 's/^/IRN:C/' | paste -sd, >"$T/hold"
pb --json match count "United States" --detainees "@$T/seek" --label "seek" --max 5000 >"$T/cb.json" 2>"$T/cb.err"
check "count: Iran commits to 2500 people" jqe '.kind == "count" and .our_size == 2500' "$T/cb.json"
pa --json match count Iran --detainees "$(cat "$T/hold")" --label "seek" --max 5000 >"$T/ca.json" 2>"$T/ca.err"
CID=$(jq -r .id "$T/cb.json")
pb sync >/dev/null 2>&1 # Iran sends its list (2 parts)
stop_relay
db "UPDATE msg SET seq = -seq; UPDATE msg SET seq = (SELECT max(-seq) + min(-seq) FROM msg) + seq;" 2>/dev/null
db "UPDATE msg SET seq = -seq WHERE seq < 0;"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
for _ in 1 2 3; do pa sync >/dev/null 2>&1; pb sync >/dev/null 2>&1; done
pa --json match show "$CID" >"$T/ca.json"
pb --json match show "$CID" >"$T/cb.json"
check "count: both learn 500 in common, after the relay reordered the parts" jqe -s 'all(.[]; .state == "done" and .result == 500)' "$T/ca.json" "$T/cb.json"
check "  and nothing about which" bash -c "! grep -q 'IRN:C2001' <(jq .result '$T/ca.json')"

# A lost part: the relay drops one, the sender sends it again.
seq 1 1900 | sed 's/^/USA:L/' | paste -sd, >"$T/l1"
pa --json match count Iran --detainees "$(cat "$T/l1")" --label "lost" --max 2000 >"$T/la.json" 2>/dev/null
pb --json match count "United States" --detainees "USA:L5,USA:L7" --label "lost" --max 2000 >/dev/null 2>&1
LID=$(jq -r .id "$T/la.json")
pa sync >/dev/null 2>&1 # the United States sends its list: two parts
stop_relay
db "DELETE FROM msg WHERE id = (SELECT max(id) FROM msg WHERE length(env) > 30000);"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
for _ in 1 2; do pb sync >/dev/null 2>&1; pa sync >/dev/null 2>&1; done
check "a part lost: the match waits, exchanging" jqe '.state == "exchanging" or .state == "answered"' <(pb --json match show "$LID")
check "match resend sends our messages again" jqe '.queued >= 1' <(pa --json match resend "$LID")
for _ in 1 2 3; do pb sync >/dev/null 2>&1; pa sync >/dev/null 2>&1; done
check "  then both learn 2 in common" jqe -s 'all(.[]; .state == "done" and .result == 2)' <(pa --json match show "$LID") <(pb --json match show "$LID")

# A side that stops after learning: the United States learns the result
# and its answer never reaches Iran (here the relay loses it, as a client
# that withholds it would); Iran's view shows, from the relay's log, that
# they fetched its answer and answered nothing.
pa --json match intent Iran --topic "stop after learning" --answer yes >"$T/xa.json" 2>/dev/null
pb match intent "United States" --topic "stop after learning" --answer yes >/dev/null 2>&1
XID=$(jq -r .id "$T/xa.json")
pa sync >/dev/null 2>&1 # their commitment: our list
pb sync >/dev/null 2>&1 # our commitment and list: their list and answer
pa sync >/dev/null 2>&1 # their answer: the United States learns, answers
stop_relay
db "DELETE FROM msg WHERE id = (SELECT max(id) FROM msg);"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
for _ in 1 2; do pb sync >/dev/null 2>&1; done
check "stop after learning: the United States knows the result" jqe '.state == "done" and .result == "match"' <(pa --json match show "$XID")
check "  Iran's view: answered, and the log shows they fetched its answer" jqe '.state == "answered" and (.they_fetched_our_answer_at_leaf | type) == "number" and .result == null' <(pb --json match show "$XID")
check "  the text view says they can know the result and Iran cannot" bash -c "'$PARLEY' --vault '$B' match show ${XID:0:8} | grep -q 'they can know the result and you cannot'"
pb prove outreach "United States" --out "$T/outreach.json" >/dev/null 2>&1
"$PARLEY" --json verify "$T/outreach.json" >"$T/outreach.out" 2>/dev/null
check "  prove outreach writes that log evidence, checked offline: its last deposit (the answer) fetched" jqe '.valid and (.deposits | length) >= 2 and .deposits[-1].fetched' "$T/outreach.out"

# Views.
check "match list shows every match" jqe 'length == 9' <(pa --json match list)
check "the inbox shows their commitments, not the parts of lists" jqe '[.[] | select(.kind == "blind match")] | length == 9' <(pa --json inbox)
pa match show abcdef12 2>"$T/e"; rc=$?
check "an unknown match id is one line, exit 7 (not found)" eval '[ $rc -eq 7 ] && one_error "$T/e"'
refused "a bad --answer is refused" pa match intent Iran --topic x --answer maybe
printf '{"packages": [{"we_release": ["USA:1"], "they_release": ["IRN:1"], "extra": 1}]}' >"$T/badpk.json"
refused "a packages file with an unknown key is refused" pa match packages Iran --file "$T/badpk.json" --label bad
printf 'IRN:1\nnot an id\n' >"$T/badids"
refused "a bad identifier in a --detainees file is refused" pa match count Iran --detainees "@$T/badids" --label bad
refused "a --detainees file that does not exist is refused" pa match count Iran --detainees "@$T/none" --label bad

echo "1..$_n"
