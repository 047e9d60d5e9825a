#!/usr/bin/env bash
# A conversation through a relay that loses, reorders and duplicates
# envelopes. The relay is stopped between steps and its database edited with
# sqlite3, as a misbehaving relay would. Every note that reaches the
# recipient must be shown exactly once, in the sender's order by id, and the
# session must go on working afterwards.
. "$(dirname "$0")/lib.sh"

A="$T/a" B="$T/b"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
db() { sqlite3 "$T/relay/relay.db" "$@"; }
# The mailbox of the newest deposit (acks of the other direction share the table).
LAST_MBX="(SELECT mbx FROM msg WHERE id = (SELECT max(id) FROM msg))"
restart() { stop_relay && start_relay relay --listen "127.0.0.1:$RELAY_PORT"; }

start_relay relay || { notok "relay starts"; exit 1; }
pa init --name Alpha --relay "$RELAY_URL" >/dev/null 2>&1
pb init --name Bravo --relay "$RELAY_URL" >/dev/null 2>&1
KA=$(pa --json id | jq -r .key)
KB=$(pb --json id | jq -r .key)
pa contact add Bravo "$KB" >/dev/null && pb contact add Alpha "$KA" >/dev/null
SN=$(pa --json contact show Bravo | jq -r .safety_number)
pa contact verify Bravo "$SN" >/dev/null && pb contact verify Alpha "$SN" >/dev/null
check "setup: both verified" jq -e '.verified' <(pb --json contact show Alpha)

texts() { "$PARLEY" --vault "$1" --json thread "$2" | jq -r '[.[] | select(.direction == "in") | .text] | join(",")'; }

# 1. Reordered: five notes delivered newest first.
for i in 1 2 3 4 5; do pa send Bravo "r$i" >/dev/null 2>&1; done
check "five envelopes waiting" test "$(db 'SELECT count(*) FROM msg')" -eq 5
stop_relay
db "UPDATE msg SET seq = -seq; UPDATE msg SET seq = (SELECT max(-seq) + min(-seq) FROM msg) + seq;" 2>/dev/null
db "UPDATE msg SET seq = -seq WHERE seq < 0;"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
check "B receives all five" jq -e '.received == 5 and .rejected == 0' <(pb --json sync)
check "B's thread holds r1..r5 once each" test "$(texts "$B" Alpha | tr , '\n' | sort | tr '\n' ,)" = "r1,r2,r3,r4,r5,"

# 2. Duplicated: the relay serves envelopes again after they were acked.
for i in 1 2; do pb send Alpha "d$i" >/dev/null 2>&1; done
db "CREATE TABLE saved AS SELECT * FROM msg;"
check "A receives two" jq -e '.received == 2' <(pa --json sync)
stop_relay
db "INSERT INTO msg(mbx, seq, time, hash, env) SELECT mbx, seq + 100, time, hash, env FROM saved;
    UPDATE mailbox SET last_seq = last_seq + 100 WHERE mbx = (SELECT mbx FROM saved LIMIT 1);"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
pa --json sync >"$T/dup.json"
check "A receives nothing new from replayed envelopes" jq -e '.received == 0' "$T/dup.json"
check "A's thread shows d1, d2 once" test "$(texts "$A" Bravo)" = "d1,d2"

# 3. Lost: one of three notes never arrives; the others do, and so do later ones.
pb sync >/dev/null 2>&1
for i in 1 2 3; do pa send Bravo "l$i" >/dev/null 2>&1; done
stop_relay
db "DELETE FROM msg WHERE mbx = $LAST_MBX AND seq = (SELECT max(seq) - 1 FROM msg WHERE mbx = $LAST_MBX);"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
check "B receives the two that survived" jq -e '.received == 2' <(pb --json sync)
check "B has l1 and l3, not l2" bash -c "t=\$(\"$PARLEY\" --vault \"$B\" --json thread Alpha | jq -r '.[].text' | tr '\n' ,); [[ \$t == *l1,* && \$t == *l3,* && \$t != *l2,* ]]"

# 4. Tampered: a flipped byte in a stored envelope is rejected, nothing shown.
pa send Bravo "t1" >/dev/null 2>&1
stop_relay
db "UPDATE msg SET env = substr(env, 1, 100) || (CASE WHEN substr(env, 101, 1) = X'00' THEN X'01' ELSE X'00' END) || substr(env, 102) WHERE id = (SELECT max(id) FROM msg);"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
pb --json sync >"$T/t.json" 2>"$T/t.err"
check "tampered envelope: nothing received, one rejected" jq -e '.received == 0 and .rejected == 1' "$T/t.json"
check "  and a warning" grep -q 'parley: warning' "$T/t.err"

# 5. The session still works both ways after all that.
check "B -> A after the faults" quiet pb send Alpha "after"
check "A receives it" jq -e '.received == 1' <(pa --json sync)
check "A -> B after the faults" quiet pa send Bravo "again"
check "B receives it" jq -e '.received == 1' <(pb --json sync)
echo "1..$_n"
