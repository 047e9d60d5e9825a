#!/usr/bin/env bash
# Guarantees and multi-party agreements (issue 15), through the real CLI and
# relay with three offices all verified with each other: Iran proposes to
# the United States naming Switzerland as mediator, with commitments for all
# three; the United States accepts; the agreement reaches Switzerland, which
# guarantees it; both parties see it guaranteed; the exported agreement
# verifies offline with three signatures, names and commitments.
. "$(dirname "$0")/lib.sh"

I="$T/iran" U="$T/us" S="$T/ch"
jqe() { jq -e "$@" >/dev/null; }
pi() { "$PARLEY" --vault "$I" "$@"; }
pu() { "$PARLEY" --vault "$U" "$@"; }
ps() { "$PARLEY" --vault "$S" "$@"; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$I:Iran" "$U:United States" "$S:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KI=$(pi --json id | jq -r .key) KU=$(pu --json id | jq -r .key) KS=$(ps --json id | jq -r .key)
meet() { # vaultX nameY keyY vaultY nameX keyX
	quiet "$PARLEY" --vault "$1" contact add "$2" "$3"
	quiet "$PARLEY" --vault "$4" contact add "$5" "$6"
	local sn
	sn=$("$PARLEY" --vault "$1" --json contact show "$2" | jq -r .safety_number)
	quiet "$PARLEY" --vault "$1" contact verify "$2" "$sn"
	quiet "$PARLEY" --vault "$4" contact verify "$5" "$sn"
}
meet "$I" "United States" "$KU" "$U" Iran "$KI"
meet "$I" Switzerland "$KS" "$S" Iran "$KI"
meet "$U" Switzerland "$KS" "$S" "United States" "$KU"

A1=$(pi case add --name "Ahmad Khalili" --held-by Iran --nationality US)
B1=$(pi case add --name "Reza Sadeghi" --held-by "United States" --nationality Iran)
P=$(pi propose "United States" --we-release "$A1" --they-release "$B1" --mediator Switzerland \
	--place "Doha" --commit "we:transfer the funds to the escrow account" \
	--commit "they:provide the aircraft" \
	--commit "mediator:hold the funds in escrow until both releases are attested" --yes)
check "a proposal with commitments for all three signers is sent" test -n "$P"
pi --json thread "United States" >"$T/th.json"
check "  it is signed as version 3 and shows each commitment" \
	jqe '[.[] | select(.kind=="proposal")][0].commitments | length == 3 and .[2].by == "Switzerland"' "$T/th.json"
fails "a mediator commitment without a mediator is refused" \
	quiet pi propose "United States" --we-release "$A1" --commit "mediator:x" --yes

quiet pu sync
check "the United States sees the commitments before it signs" \
	bash -c "'$PARLEY' --vault '$U' inbox | grep -q 'Switzerland (the mediator, bound once it guarantees): hold the funds'"
ACC=$(pu accept "$P" --yes)
check "the United States accepts" test -n "$ACC"
quiet pi sync
ps sync >/dev/null 2>"$T/s_sync.err"
check "Switzerland's sync says an agreement awaits its guarantee" grep -q "1 agreement(s) name you as guarantor" "$T/s_sync.err"
ps --json inbox >"$T/s_inbox.json"
check "Switzerland holds one agreement (the two parties' copies are one)" \
	jqe '[.[] | select(.kind=="agreement")] | length == 1' "$T/s_inbox.json"
ps inbox >"$T/s_inbox.txt"
check "  inbox: agreement between Iran and United States naming you as guarantor" \
	grep -q "agreement between Iran and United States naming you as guarantor — awaiting your guarantee" "$T/s_inbox.txt"
check "  with the full terms and each signer's commitments" \
	bash -c "grep -q 'Ahmad Khalili' '$T/s_inbox.txt' && grep -q 'Iran: transfer the funds' '$T/s_inbox.txt' && grep -q 'United States: provide the aircraft' '$T/s_inbox.txt'"
AG=$(jq -r '[.[] | select(.kind=="agreement")][0].id' "$T/s_inbox.json")

# Signing asks: without a terminal and --yes it is refused; on one, the
# whole agreement and the mediator's own commitments are shown first.
fails "guarantee without a terminal and without --yes is refused" quiet ps guarantee "$AG" </dev/null
printf 'no\n' | timeout 30 script -qec "$(printf '%q ' "$PARLEY" --vault "$S" guarantee "$AG")" /dev/null >"$T/tty.out" 2>&1
check "  on a terminal it shows the terms and the mediator's commitments, and 'no' signs nothing" \
	bash -c "grep -q 'Your guarantee, as the mediator it names' '$T/tty.out' && grep -q 'hold the funds in escrow' '$T/tty.out' && grep -q 'Ahmad Khalili' '$T/tty.out' && '$PARLEY' --vault '$S' --json inbox | jq -e '[.[] | select(.kind==\"agreement\")][0].state == \"awaiting guarantee\"' >/dev/null"

# Only the mediator the proposal names can guarantee: a party cannot.
fails "Iran cannot guarantee (it holds no agreement naming it)" quiet pi guarantee "$P" --yes
check "Switzerland guarantees" quiet ps guarantee "$AG" --text "Switzerland stands behind this exchange." --yes
fails "  a second guarantee is refused" quiet ps guarantee "$AG" --yes
check "  its inbox shows it guaranteed" \
	jqe '[.[] | select(.kind=="agreement")][0].state == "guaranteed"' <(ps --json inbox)

quiet pi sync
check "the United States is told at its next sync" jqe '.guaranteed == 1' <(pu --json sync 2>/dev/null)
check "Iran's proposal is guaranteed" \
	jqe --arg p "$P" '[.[] | select(.id==$p)][0].state == "guaranteed"' <(pi --json thread "United States")
check "the United States' too (inbox --json)" \
	jqe --arg p "$P" '[.[] | select(.id==$p)][0].state == "guaranteed"' <(pu --json inbox)
check "  and its inbox says who guaranteed it" bash -c "'$PARLEY' --vault '$U' inbox | grep -q 'GUARANTEED by Switzerland'"

pu export agreement "$P" --out "$T/agr.json" >/dev/null 2>&1
pi export agreement "$P" --format text --out "$T/agr.txt" >/dev/null 2>&1
check "the exported agreement carries the guarantee" jqe '.guarantee | length > 0' "$T/agr.json"
"$PARLEY" verify "$T/agr.json" >"$T/v.out" 2>&1
check "verify: three signatures, guaranteed by Switzerland" \
	grep -q "guaranteed by Switzerland: all three signatures verify" "$T/v.out"
check "verify --expect-key takes the guarantor's key beside the parties'" \
	quiet "$PARLEY" verify "$T/agr.json" --expect-key "$KS" --expect-key "$KI" --expect-key "$KU"
check "  lists every signer with what it committed to" \
	bash -c "grep -q 'Iran, key fingerprint .*signed the proposal; commits to:' '$T/v.out' && grep -q 'United States, key fingerprint .*signed the acceptance' '$T/v.out' && grep -q 'Switzerland (the mediator), key fingerprint .*signed the guarantee' '$T/v.out' && grep -q 'hold the funds in escrow' '$T/v.out'"
check "  --json: three signatures and the guarantor" \
	jqe '.signatures == 3 and .guarantee.name == "Switzerland" and (.commitments | length) == 3' <("$PARLEY" --json verify "$T/agr.json")
check "the text document verifies and says who guaranteed it" \
	bash -c "'$PARLEY' verify '$T/agr.txt' | grep -q 'guaranteed by Switzerland'"
off=$(value_offset "$T/agr.json" guarantee)
flip "$T/agr.json" "$off" "$T/bad.json"
fails "a flipped byte of the guarantee's signature is refused" quiet "$PARLEY" verify "$T/bad.json"
tamper_all "every byte of the three-signature file flipped is refused" "$T/agr.json"
pi export thread Switzerland --out "$T/thread.json" >/dev/null 2>&1
check "Iran's thread with Switzerland, guarantee included, verifies" \
	bash -c "'$PARLEY' verify '$T/thread.json' | grep -q 'guarantees, as mediator, the agreement on proposal $P'"
