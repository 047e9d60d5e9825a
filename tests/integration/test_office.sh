#!/usr/bin/env bash
# The office's judgement stays in the office (issue 14), through the real
# CLI and relay with three offices (the United States, Iran, Switzerland)
# and Persian names: the case file is split into what a signed move shares
# (name, held by, nationality, born, shared summary) and what never leaves
# the vault (priority, note, internal wording); sanity checks on proposals;
# case link asks before moving a link; case remove keeps what a signed move
# names; contact rename carries the transcript along.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pm() { "$PARLEY" --vault "$M" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# refused DESC CMD...: fails with one error line, every vault unchanged
refused() {
	local d=$1
	shift
	local before after rc
	before=$(cat "$A/vault.pv" "$B/vault.pv" "$M/vault.pv" | sha256sum)
	"$@" >/dev/null 2>"$T/err" </dev/null
	rc=$?
	after=$(cat "$A/vault.pv" "$B/vault.pv" "$M/vault.pv" | sha256sum)
	if [ $rc -ne 0 ] && one_error "$T/err" && [ "$before" = "$after" ]; then ok "$d"; else notok "$d (rc $rc, $(cat "$T/err"))"; fi
}
jqe() { jq -e "$@" >/dev/null; }
err_has() { grep -q -- "$1" "$T/err" || { echo "# error was: $(cat "$T/err")"; return 1; }; }
# on_tty INPUT VAULT ARGS...: parley under a pseudo-terminal typing INPUT
on_tty() {
	local input=$1 vault=$2
	shift 2
	local cmd
	cmd=$(printf '%q ' "$PARLEY" --vault "$vault" "$@")
	printf '%s\n' "$input" | timeout 30 script -qec "$cmd" /dev/null >"$T/tty.out" 2>&1
}

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$M:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key) KM=$(pm --json id | jq -r .key)
meet() { # vaultX nameY keyY vaultZ nameX keyX
	quiet "$PARLEY" --vault "$1" contact add "$2" "$3"
	quiet "$PARLEY" --vault "$4" contact add "$5" "$6"
	local sn
	sn=$("$PARLEY" --vault "$1" --json contact show "$2" | jq -r .safety_number)
	quiet "$PARLEY" --vault "$1" contact verify "$2" "$sn"
	quiet "$PARLEY" --vault "$4" contact verify "$5" "$sn"
}
meet "$A" Iran "$KB" "$B" "United States" "$KA"
meet "$A" Switzerland "$KM" "$M" "United States" "$KA"
meet "$B" Switzerland "$KM" "$M" Iran "$KB"
"$VAULTSQL" "$B" "INSERT OR REPLACE INTO counters(k, v) VALUES('ack_delay_max', 0)"
"$VAULTSQL" "$A" "INSERT OR REPLACE INTO counters(k, v) VALUES('ack_delay_max', 0)"

# The office's internal judgement: none of these strings may reach Iran.
NOTE="وزیر می‌خواهد پیش از نشست؛ internal: do not trade below two"
INTERNAL_H="internal: heart failure, weeks left, use as leverage"
CHARGES="espionage (IRGC file 4417)"
SUMMARY="81 years old, needs cardiac care"

# --- the split: shared and internal fields --------------------------------------
NAMAZI=$(pa case add --name "باقر نمازی" --held-by Iran --nationality US,Iran --born 1936-01-01 \
	--shared-summary "$SUMMARY" --humanitarian "$INTERNAL_H" --charges "$CHARGES" \
	--since 2016-02-22 --priority 97 --note "$NOTE")
SHEIKH=$(pa case add --name "احمد شیخ‌زاده" --held-by "United States" --nationality Iran --priority 13 \
	--note "low value to us")
WANG=$(pa case add --name "شیوئه وانگ" --held-by Iran --nationality US)
check "case add takes --shared-summary and --note" test "$NAMAZI" -gt 0
pa case show "$NAMAZI" >"$T/show.txt"
check "case show: a Shared section with name and summary" \
	awk '/^Shared/{s=1} /^Internal/{s=0} s && /name:/ && /باقر نمازی/{n=1} s && /summary:/ && /cardiac/{m=1} END{exit !(n && m)}' "$T/show.txt"
check "case show: an Internal section with priority, note and internal wording" \
	awk '/^Internal/{s=1} /^Links/{s=0} s && /priority: *97/{p=1} s && /note:/ && /do not trade/{n=1} s && /humanitarian:/ && /leverage/{h=1} END{exit !(p && n && h)}' "$T/show.txt"
check "case show --json says which fields are shared and which internal" \
	jqe '.shared == ["name","held_by","nationality","born","summary"] and (.internal | index("priority") and index("note")) and .note == "'"$NOTE"'" and .summary == "'"$SUMMARY"'"' <(pa --json case show "$NAMAZI")

# --- sanity checks ------------------------------------------------------------------
refused "proposing to release a person held by the other side is refused" \
	pa propose --yes Iran --we-release "$NAMAZI"
check "  the error names the holder and what to do" err_has "held by Iran, not by you"
refused "asking the other side to release a person we hold is refused" \
	pa propose --yes Iran --they-release "$SHEIKH"
check "  the error says to use --we-release" err_has "we-release"
refused "proposing an exchange to the party named as mediator is refused" \
	pa propose --yes Switzerland --we-release "$SHEIKH" --they-release "$NAMAZI" --mediator Switzerland
check "  the error says propose to the other party" err_has "named as mediator"
refused "naming one record twice is refused" \
	pa propose --yes Iran --we-release "$SHEIKH" --they-release "$NAMAZI,$NAMAZI"
DUP=$(pa case add --name "باقر نمازی" --held-by Iran)
refused "naming one person twice through two records is refused" \
	pa propose --yes Iran --we-release "$SHEIKH" --they-release "$NAMAZI,$DUP"
check "  the error names both records" err_has "records $NAMAZI and $DUP both name"
# a place rather than a party in held by passes
EVIN=$(pa case add --name "مراد طاهباز" --held-by "Evin prison" --nationality US,Iran,UK)

# --- a proposal and a request cross; nothing internal arrives ---------------------------
P1=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$NAMAZI,$WANG,$EVIN" \
	--place Geneva --sequencing simultaneous --mediator Switzerland)
check "a sane proposal is signed" test ${#P1} -eq 16
R1=$(pa request Iran --detainee "$NAMAZI" --kind medical-leave --urgency urgent --text "cardiology consult")
check "a request naming the same record is signed" test ${#R1} -eq 16
quiet pb sync
pb --json inbox >"$T/b-inbox.json"
pb inbox >"$T/b-inbox.txt"
pb --json thread "United States" >"$T/b-thread.json"
check "Iran sees the proposal with the shared fields" \
	jqe --arg id "$P1" '.[] | select(.id == $id) | (.they_release[] | select(.name == "احمد شیخ‌زاده")) and (.we_release[] | select(.name == "باقر نمازی") | .humanitarian == "'"$SUMMARY"'" and .born == "1936-01-01")' "$T/b-inbox.json"
check "  and the request's detainee with the shared summary" \
	jqe --arg id "$R1" '.[] | select(.id == $id) | .detainee.humanitarian == "'"$SUMMARY"'"' "$T/b-inbox.json"
for f in b-inbox.json b-inbox.txt b-thread.json; do
	check "  $f: no priority key or value" sh -c "! grep -q -e '\"priority\"' -e 'priority' '$T/$f'"
	check "  $f: no note, internal wording or charges" \
		sh -c "! grep -q -F -e 'do not trade' -e 'leverage' -e 'IRGC' -e 'low value' '$T/$f'"
done
"$VAULTSQL" "$B" .image >"$T/b-image.hex"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
check "Iran's database image is there to scan" test "$(wc -c <"$T/b-image.hex")" -gt 10000
check "  and holds no note text" sh -c "! grep -qi '$(hex "do not trade")' '$T/b-image.hex'"
check "  nor the internal wording" sh -c "! grep -qi '$(hex "leverage")' '$T/b-image.hex'"

# --- agreement: only shared fields are signed -----------------------------------------
check "Iran accepts" quiet pb accept --yes "$P1"
quiet pa sync
check "the US exports the agreement" quiet pa export agreement "$P1" --out "$T/agreement.json"
check "Iran exports it too" quiet pb export agreement "$P1" --out "$T/agreement-b.json"
for f in agreement.json agreement-b.json; do
	jq -r '.proposal, .acceptance' "$T/$f" | while read -r b; do printf '%s' "$b" | base64 -d; done >"$T/$f.bytes"
	check "$f: the signed bytes hold the shared summary (the scan works)" grep -q -F "$SUMMARY" "$T/$f.bytes"
	check "$f: the signed bytes hold no note, internal wording or charges" \
		sh -c "! grep -q -F -e 'do not trade' -e 'leverage' -e 'IRGC' -e 'low value' -e '2016-02-22' '$T/$f.bytes' '$T/$f'"
done
check "verify --json shows persons without priority" \
	jqe '[.we_release[]?, .they_release[]?, .author_releases[]?, .recipient_releases[]?] as $p | ($p | length) >= 0 and ([.. | objects | has("priority")] | any | not)' <("$PARLEY" --json verify "$T/agreement.json")
check "  the file still verifies" quiet "$PARLEY" verify "$T/agreement.json"

# --- links --------------------------------------------------------------------------
B_NAMAZI=$(pb case add --name "محمد باقر نمازی" --held-by Iran --born 1936-01-01)
B_TAHBAZ=$(pb case add --name "مراد طاهباز" --held-by Iran --born 1955)
B_SHEIKH=$(pb case add --name "احمد شیخ‌زاده" --held-by "United States" --nationality "iran ")
P2=$(pb propose --yes "United States" --we-release "$B_NAMAZI,$B_TAHBAZ" --they-release "$B_SHEIKH")
check "Iran proposes with its own records" test ${#P2} -eq 16
quiet pa sync
pa --json inbox >"$T/a-inbox.json"
REF_N=$(jq -r --arg id "$P2" '.[] | select(.id == $id) | .they_release[] | select(.name == "محمد باقر نمازی") | .ref' "$T/a-inbox.json")
REF_T=$(jq -r --arg id "$P2" '.[] | select(.id == $id) | .they_release[] | select(.name == "مراد طاهباز") | .ref' "$T/a-inbox.json")
check "a first link needs no confirmation" quiet pa case link "$REF_N" "$NAMAZI" </dev/null
refused "moving a link without a terminal or --yes is refused" pa case link "$REF_N" "$WANG"
check "  and says to pass --yes" err_has "--yes"
check "  the link is where it was" jqe '.links == [{"contact":"Iran","ref":"'"$REF_N"'"}]' <(pa --json case show "$NAMAZI")
on_tty "no" "$A" case link "$REF_N" "$WANG"
check "on a terminal, the question says what moves, and no keeps it" \
	sh -c "grep -q 'linked to your record $NAMAZI' '$T/tty.out' && grep -q 'moves the link' '$T/tty.out'"
check "  still linked to $NAMAZI" jqe '.links | length == 1' <(pa --json case show "$NAMAZI")
refused "linking a second of Iran's references to one record asks first" pa case link "$REF_T" "$NAMAZI"
check "  and the error says so" err_has "no terminal"
on_tty "yes" "$A" case link "$REF_T" "$EVIN"
check "a link to another record goes through" jqe '.links == [{"contact":"Iran","ref":"'"$REF_T"'"}]' <(pa --json case show "$EVIN")
pa case show "$NAMAZI" >"$T/show2.txt"
check "case show lists the links" grep -q "Iran's record $REF_N" "$T/show2.txt"
pa thread Iran >"$T/a-thread.txt"
check "the text view flags a record the two sides describe differently" \
	grep -q "described differently: your record $NAMAZI says باقر نمازی" "$T/a-thread.txt"
check "  --json says differs" jqe --arg id "$P2" '.[] | select(.id == $id) | .they_release[] | select(.ref == "'"$REF_N"'") | .differs == true and .our_record.name == "باقر نمازی"' <(pa --json thread Iran)
REF_S=$(jq -r --arg id "$P2" '.[] | select(.id == $id) | .we_release[0].ref' "$T/a-inbox.json")
check "a record both sides describe alike" quiet pa case link "$REF_S" "$SHEIKH" </dev/null
check "  is not flagged (nationality compared without case or blanks)" \
	jqe --arg id "$P2" '.[] | select(.id == $id) | .we_release[0] | .linked == '"$SHEIKH"' and .differs == false' <(pa --json thread Iran)
pa thread Iran >"$T/a-thread2.txt"
check "  nor in the text view" sh -c "grep -q 'احمد شیخ‌زاده' '$T/a-thread2.txt' && ! grep 'احمد شیخ‌زاده' '$T/a-thread2.txt' | grep -q 'described differently'"
check "moving a link with --yes" quiet pa case link "$REF_N" "$WANG" --yes
check "  it moved" jqe '(.links | length) == 1' <(pa --json case show "$WANG")

# --- case remove --------------------------------------------------------------------
refused "case remove without a terminal or --yes is refused" pa case remove "$SHEIKH"
on_tty "n" "$A" case remove "$SHEIKH"
check "on a terminal, no keeps the record" jqe '.removed == false' <(pa --json case show "$SHEIKH")
check "case remove of a record a signed move names: kept and marked" \
	jqe '.removed == "marked"' <(pa --json case remove "$SHEIKH" --yes)
check "  case show says it is removed" grep -q "removed: kept because a signed move names it" <(pa case show "$SHEIKH")
check "  case list marks it" grep -q "\[removed\]" <(pa case list)
check "  the thread still names the person" grep -q "احمد شیخ‌زاده" <(pa thread Iran)
refused "a removed record cannot be named in a new move" pa propose --yes Iran --we-release "$SHEIKH" --they-release "$WANG"
check "  the error says it was removed" err_has "was removed"
refused "removing it twice is refused" pa case remove "$SHEIKH" --yes
check "case remove of a record nobody signed deletes it" jqe '.removed == "deleted"' <(pa --json case remove "$DUP" --yes)
check "  it is gone" sh -c "! '$PARLEY' --vault '$A' case show '$DUP' 2>/dev/null"
check "case remove of a record named only through a link is kept" \
	jqe '.removed == "marked"' <(pa --json case remove "$WANG" --yes)

# --- contact rename -----------------------------------------------------------------------
US_FA="ایالات متحده"
N_BEFORE=$(pb --json thread "United States" | jq length)
check "contact rename" quiet pb contact rename "United States" "$US_FA"
check "  the thread follows the new name" test "$(pb --json thread "$US_FA" | jq length)" -eq "$N_BEFORE"
check "  the old name is gone" sh -c "! '$PARLEY' --vault '$B' contact show 'United States' 2>/dev/null"
refused "renaming onto an existing contact is refused" pb contact rename "$US_FA" Switzerland
refused "renaming an unknown contact is refused" pb contact rename Nobody Somebody
quiet pa send Iran "after the rename"
quiet pb sync
check "  a new message arrives under the new name" jqe 'any(.[]; .text == "after the rename")' <(pb --json thread "$US_FA")
check "  Iran can still answer under the new name" quiet pb send "$US_FA" "received"
quiet pa sync
check "  and the US receives it" jqe 'any(.[]; .text == "received")' <(pa --json thread Iran)

[ -n "${OFFICE_KEEP:-}" ] && cp -r "$T" "$OFFICE_KEEP"
# --- contact remove asks before it forgets a transcript ---------------------------------
refused "contact remove --forget-transcript without a terminal or --yes is refused" \
	pb contact remove "$US_FA" --forget-transcript
check "  the contact and its thread are still there" test "$(pb --json thread "$US_FA" | jq length)" -gt 0
on_tty "no" "$B" contact remove "$US_FA" --forget-transcript
check "  on a terminal, no keeps them" sh -c "grep -q 'will be deleted' '$T/tty.out' && [ \$('$PARLEY' --vault '$B' --json thread '$US_FA' | jq length) -gt 0 ]"
check "  --yes removes them" quiet pb contact remove "$US_FA" --forget-transcript --yes
echo "1..$_n"
