#!/usr/bin/env bash
# The CLI contract end to end: two parties (and a stranger) with real vaults
# in temporary folders, the real parley-relay on a free loopback port.
. "$(dirname "$0")/lib.sh"

A="$T/usa" B="$T/iran" C="$T/stranger"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pc() { "$PARLEY" --vault "$C" "$@"; }
# one_error FILE: exactly one line, starting "parley: "
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }

start_relay relay || { notok "relay starts"; exit 1; }
ok "relay starts and prints its port ($RELAY_PORT)"

check "init A" pa init --name "United States" --relay "$RELAY_URL"
check "init B" pb --json init --name Iran --relay "$RELAY_URL"
fails "init refuses to overwrite a vault" pa init --name X --relay "$RELAY_URL" 2>"$T/err"
check "  with one error line" one_error "$T/err"
check "vault file is mode 0600" test "$(stat -c %a "$A/vault.pv")" = 600
check "vault folder is mode 0700" test "$(stat -c %a "$A")" = 700

# plain http:// to another computer (0.0.0.0 is not loopback by name, yet
# Linux delivers it here, so no traffic leaves this machine)
D="$T/plain" REMOTE="http://0.0.0.0:$RELAY_PORT"
"$PARLEY" --vault "$D" init --name Plain --relay "$REMOTE" 2>"$T/err"; rc=$?
check "init refuses plain http:// to another computer (exit 5)" test $rc -eq 5
check "  with one error line naming --insecure-http" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q -- --insecure-http '$T/err'"
check "  and makes no vault" test ! -e "$D/vault.pv"
check "init --insecure-http allows it and publishes" bash -c "'$PARLEY' --vault '$D' init --name Plain --relay '$REMOTE' --insecure-http | grep -q 'published prekeys'"
check "  and later commands reach the relay" "$PARLEY" --vault "$D" sync
check "relay insecure-http on a loopback vault changes nothing" bash -c "'$PARLEY' --vault '$A' relay insecure-http | grep -q 'nothing to allow'"

pa --json id >"$T/a.json" && pb --json id >"$T/b.json"
check "id --json has name, key, fingerprint" jq -e '.name == "United States" and (.key|length) == 64 and (.fingerprint|length) > 0' "$T/a.json"
KA=$(jq -r .key "$T/a.json")
KB=$(jq -r .key "$T/b.json")
check "plain id prints the key" bash -c "\"$PARLEY\" --vault \"$A\" id | grep -q $KA"

PARLEY_PASSPHRASE=wrong pa id 2>"$T/err"; rc=$?
check "wrong passphrase refused (exit 3)" test $rc -eq 3
check "  with one error line" one_error "$T/err"
fails "missing vault refused" "$PARLEY" --vault "$T/nope" id 2>"$T/err"
check "  and names parley init" grep -q 'parley init' "$T/err"
printf '%s\n' "$PARLEY_PASSPHRASE" >"$T/passfile"
check "--passphrase-file works" env -u PARLEY_PASSPHRASE "$PARLEY" --vault "$A" --passphrase-file "$T/passfile" id
fails "no passphrase and no terminal refused" env -u PARLEY_PASSPHRASE setsid "$PARLEY" --vault "$A" id </dev/null 2>"$T/err"
check "  with one error line" one_error "$T/err"

fails "contact add rejects a malformed key" pa contact add Iran 1234 2>"$T/err"
check "  with one error line" one_error "$T/err"
fails "contact add rejects its own key" pa contact add Me "$KA" 2>/dev/null
check "contact add A->B" pa contact add Iran "$KB"
check "contact add B->A" pb contact add "United States" "$KA"
pa --json contact show Iran >"$T/ca.json"
pb --json contact show "United States" >"$T/cb.json"
check "contact show --json keys" jq -e '.name == "Iran" and .key == "'"$KB"'" and (.safety_number|length) > 0 and .verified == false' "$T/ca.json"
SN=$(jq -r .safety_number "$T/ca.json")
check "both sides compute the same safety number" test "$SN" = "$(jq -r .safety_number "$T/cb.json")"

pa send Iran "unverified hello" 2>"$T/err"; rc=$?
check "send to an unverified contact refused (exit 5)" test $rc -eq 5
check "  one line naming parley contact verify" bash -c "one_error() { [ \$(wc -l <\"\$1\") -eq 1 ] && grep -q '^parley: ' \"\$1\"; }; one_error $T/err && grep -q 'parley contact verify Iran' $T/err"
check "  and nothing was queued" test "$(pa --json thread Iran | jq length)" -eq 0

WRONG=$(echo "$SN" | tr 0123456789 1234567890)
fails "contact verify refuses a wrong number" pa contact verify Iran "$WRONG" 2>"$T/err"
check "  still unverified" jq -e '.verified == false' <(pa --json contact show Iran)
check "contact verify with the right number" pa contact verify Iran "$SN"
check "contact verify accepts the number without spaces" pb contact verify "United States" "$(echo "$SN" | tr -d ' ')"
check "contact list --json" jq -e 'length == 1 and .[0].verified == true' <(pa --json contact list)

pa --json send Iran "Hello from Washington" >"$T/s1.json"
check "send delivers (state delivered, id)" jq -e '.state == "delivered" and (.id|length) == 16' "$T/s1.json"
pb --json sync >"$T/sync.json"
check "sync --json reports received 1" jq -e '.received == 1' "$T/sync.json"
pb --json thread "United States" >"$T/t.json"
check "thread shows the note with id, kind, from, time, text" jq -e 'length == 1 and .[0].kind == "note" and .[0].from == "United States" and .[0].text == "Hello from Washington" and (.[0].time|test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and .[0].id == "'"$(jq -r .id "$T/s1.json")"'"' "$T/t.json"
check "reply B->A" pb send "United States" "Hello from Tehran"
check "A syncs the reply" jq -e '.received == 1' <(pa --json sync)
check "A's thread has both, in order" jq -e 'length == 2 and .[0].text == "Hello from Washington" and .[1].text == "Hello from Tehran" and .[1].from == "Iran"' <(pa --json thread Iran)
check "A's note shows fetched once B acknowledged it" jq -e '.[0].state == "fetched"' <(pa --json thread Iran)
check "a second sync receives nothing new" jq -e '.received == 0' <(pb --json sync)
# A note typed on Windows, or with a tab, is taken: LF and spaces are stored.
check "a note with CR LF and a tab is accepted" quiet pa send Iran "$(printf 'line one\r\n\tindented')"
pb sync >/dev/null 2>&1
check "  and arrives with LF and spaces" jq -e '.[-1].text == "line one\n        indented"' <(pb --json thread "United States")

# Relay down: the note stays queued, the command says so, sync delivers it later.
stop_relay
pa --json send Iran "sent while the relay is down" >"$T/q.json" 2>"$T/err"; rc=$?
check "send with the relay down exits 0" test $rc -eq 0
check "  and says queued" jq -e '.state == "queued"' "$T/q.json"
check "  and warns on stderr with parley sync" grep -q 'parley sync' "$T/err"
fails "sync with the relay down fails" pa sync 2>"$T/err"
check "  exit message names the relay" grep -qi 'relay' "$T/err"
start_relay relay --listen "127.0.0.1:$RELAY_PORT" || notok "relay restarts"
check "sync delivers the queued note" jq -e '.delivered == 1 and .queued == 0' <(pa --json sync)
check "B receives it" jq -e '.received == 1' <(pb --json sync)
check "B's thread has it exactly once" jq -e '[.[] | select(.text == "sent while the relay is down")] | length == 1' <(pb --json thread "United States")

# A changed key blocks sending until re-verified.
check "init a stranger" pc init --name Stranger --relay "$RELAY_URL"
KC=$(pc --json id | jq -r .key)
pa contact add Iran "$KC" 2>"$T/err"
check "re-adding Iran with another key warns" grep -q 'changed' "$T/err"
pa send Iran "after key change" 2>"$T/err"; rc=$?
check "send after a key change refused (exit 5)" test $rc -eq 5
check "  naming parley contact verify" grep -q 'parley contact verify Iran' "$T/err"
check "contact show reports key_changed" jq -e '.key_changed == true and .verified == false' <(pa --json contact show Iran)

# Messages from a key that is not a contact are never shown.
check "stranger adds A" pc contact add US "$KA"
check "stranger verifies A" pc contact verify US "$(pc --json contact show US | jq -r .safety_number)"
pc send US "I am Iran, trust me" >/dev/null 2>&1
pa --json sync >"$T/sync2.json" 2>/dev/null
check "A shows nothing from the stranger" bash -c "! \"$PARLEY\" --vault \"$A\" --json thread Iran | grep -q 'trust me'"

check "unknown command: usage error (exit 2)" bash -c "\"$PARLEY\" --vault \"$A\" frobnicate 2>/dev/null; test \$? -eq 2"
check "--help lists commands" bash -c "\"$PARLEY\" --help | grep -q 'contact'"
check "send --help" bash -c "\"$PARLEY\" send --help | grep -q 'send NAME TEXT'"
fails "thread of an unknown contact" pa thread Nobody 2>"$T/err"
check "  with one error line" one_error "$T/err"
echo "1..$_n"
