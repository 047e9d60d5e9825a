#!/usr/bin/env bash
# Backup and restore through the real CLI and a real relay: a backup taken
# while other parley processes use the vault; the old copy goes on (sends,
# fetches and acknowledges); the backup is restored into a new folder,
# which re-keys before it encrypts anything: the contact opens everything
# it sends and sees the "restored" notice; what the old copy fetched after
# the backup is listed as missing (acknowledged by another copy), not
# blamed on the relay. Wrong passphrase, altered file and existing folder
# are refused with one line and nothing written. Finally a vault folder
# copied away and put back by hand is caught before it encrypts anything.
. "$(dirname "$0")/lib.sh"

A="$T/a" B="$T/b" A2="$T/a2"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pr() { "$PARLEY" --vault "$A2" "$@"; }
# The one place a test edits a vault's raw database (the on-disk format is
# changing; keep such edits here): no delay before automatic acks.
no_ack_delay() { "$VAULTSQL" "$1" "INSERT OR REPLACE INTO counters(k, v) VALUES('ack_delay_max', 0)" >/dev/null; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }

start_relay relay || { notok "relay starts"; exit 1; }
pa init --name Alpha --relay "$RELAY_URL" >/dev/null 2>&1
pb init --name Bravo --relay "$RELAY_URL" >/dev/null 2>&1
no_ack_delay "$A"
no_ack_delay "$B"
KA=$(pa --json id | jq -r .key)
KB=$(pb --json id | jq -r .key)
pa contact add Bravo "$KB" >/dev/null && pb contact add Alpha "$KA" >/dev/null
SN=$(pa --json contact show Bravo | jq -r .safety_number)
pa contact verify Bravo "$SN" >/dev/null && pb contact verify Alpha "$SN" >/dev/null
pa sync >/dev/null 2>&1
pb sync >/dev/null 2>&1
pa send Bravo "before the backup 1" >/dev/null 2>&1
pb sync >/dev/null 2>&1
pb send Alpha "before the backup 2" >/dev/null 2>&1
pa sync >/dev/null 2>&1

# --- a backup while other processes use the vault --------------------------
pids=""
for i in 1 2 3; do
	pa send Bravo "during the backup $i" >"$T/dur$i.out" 2>&1 &
	pids="$pids $!"
done
pa sync >"$T/dursync.out" 2>&1 &
pids="$pids $!"
pa --json backup --out "$T/a.bak" >"$T/bak.json" 2>"$T/bak.err"
brc=$?
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
check "backup while 3 sends and a sync run on the vault exits 0" test $brc -eq 0
check "  the other commands all succeeded" test $bad -eq 0
check "  the backup file is mode 0600" test "$(stat -c %a "$T/a.bak")" = 600
check "  it shows no contact name, no key, no note" \
	bash -c "! grep -q -a -e Bravo -e Alpha -e 'before the backup' -e '$KB' '$T/a.bak'"
check "  it begins with the magic PARLEYBK" bash -c "head -c 8 '$T/a.bak' | grep -q PARLEYBK"
fails "backup refuses to replace an existing file" quiet pa backup --out "$T/a.bak"
cp "$T/a.bak" "$T/a.bak.orig"
check "  and left it as it was" cmp -s "$T/a.bak" "$T/a.bak.orig"
pb sync >/dev/null 2>&1
pa sync >/dev/null 2>&1

# --- the old copy goes on after the backup ----------------------------------
sleep 1
pb send Alpha "after the backup 1" >/dev/null 2>&1
pb send Alpha "after the backup 2" >/dev/null 2>&1
pa --json sync >"$T/old.json" 2>/dev/null
check "the old copy fetches 2 notes sent after the backup" quiet jq -e '.received == 2' "$T/old.json"
pa send Bravo "old copy after the backup" >/dev/null 2>&1
pb sync >/dev/null 2>&1
sleep 1

# --- refusals: nothing written ----------------------------------------------
PARLEY_PASSPHRASE="a wrong passphrase entirely" "$PARLEY" --vault "$T/wrong" restore "$T/a.bak" >"$T/wrong.out" 2>"$T/wrong.err"
check "restore with a wrong passphrase exits 3" test $? -eq 3
check "  one line on stderr, naming the passphrase" bash -c "one_line() { [ \$(wc -l <\$1) -eq 1 ]; }; one_line '$T/wrong.err' && grep -q 'wrong passphrase' '$T/wrong.err'"
check "  nothing written" bash -c "[ ! -e '$T/wrong' ] && [ -z \"\$(ls -d '$T'/wrong.restoring-* 2>/dev/null)\" ]"
SIZE=$(stat -c %s "$T/a.bak")
for pos in 3 20 50 60 $((SIZE / 2)) $((SIZE - 1)); do
	flip "$T/a.bak" "$pos" "$T/alt.bak"
	"$PARLEY" --vault "$T/alt$pos" restore "$T/alt.bak" >/dev/null 2>"$T/alt.err"
	arc=$?
	if [ $arc -ne 0 ] && one_line "$T/alt.err" && [ ! -e "$T/alt$pos" ]; then
		ok "a backup with byte $pos altered is refused (exit $arc), one line, nothing written"
	else
		notok "a backup with byte $pos altered: exit $arc, $(head -c 200 "$T/alt.err")"
	fi
done
head -c 70 "$T/a.bak" >"$T/cut.bak"
fails "a cut backup is refused" quiet "$PARLEY" --vault "$T/cut" restore "$T/cut.bak"
check "  nothing written" test ! -e "$T/cut"
pa restore "$T/a.bak" >/dev/null 2>"$T/exist.err"
check "restore into a folder holding a vault exits 3" test $? -eq 3
check "  saying a vault exists there, one line" bash -c "grep -q 'already exists' '$T/exist.err' && [ \$(wc -l <'$T/exist.err') -eq 1 ]"
mkdir -p "$T/full" && echo x >"$T/full/file"
fails "restore into a folder that is not empty is refused" quiet "$PARLEY" --vault "$T/full" restore "$T/a.bak"

# --- the restore -------------------------------------------------------------
pr --json restore "$T/a.bak" >"$T/restore.json" 2>"$T/restore.err"
check "restore into a new folder exits 0" test $? -eq 0
check "  dropped the sessions and queued a notice for Bravo" \
	quiet jq -e '.sessions_dropped >= 1 and .notices_queued == 1 and .published == true' "$T/restore.json"
check "  the restored folder is 0700, no temporary folder is left" \
	bash -c "[ \$(stat -c %a '$A2') = 700 ] && [ -z \"\$(ls -d '$T'/a2.restoring-* 2>/dev/null)\" ]"
check "  the restored vault has the notes from before the backup" \
	bash -c "'$PARLEY' --vault '$A2' --json thread Bravo | jq -e 'any(.[]; .text == \"before the backup 2\")' >/dev/null"
no_ack_delay "$A2"
pr send Bravo "sent by the restored vault" >/dev/null 2>"$T/rsend.err"
check "the restored vault sends" test $? -eq 0
pb --json sync >"$T/b1.json" 2>"$T/b1.err"
check "Bravo opens everything the restored vault sent (nothing rejected)" \
	quiet jq -e '.received >= 2 and .rejected == 0' "$T/b1.json"
pb --json thread Alpha >"$T/bthread.json"
check "  Bravo's thread shows the restored notice with the backup's date" \
	quiet jq -e 'any(.[]; .kind == "restored" and .how == "backup" and (.text | test("restored from a backup of .*messages after it may be missing")))' "$T/bthread.json"
check "  and the note sent after the restore" \
	quiet jq -e 'any(.[]; .text == "sent by the restored vault")' "$T/bthread.json"
pb inbox >"$T/binbox.txt" 2>&1
check "  the inbox text shows the notice" grep -q "restored from a backup of" "$T/binbox.txt"

pr --json sync >"$T/r1.json" 2>"$T/r1.err"
rc=$?
check "the restored vault's sync exits 0 (the relay is not accused)" test $rc -eq 0
# 2 notes and Bravo's automatic acknowledgment of the notes sent during the backup
check "  what the old copy fetched after the backup is listed as missing, acknowledged by another copy" \
	quiet jq -e '.missing_other_copy >= 2 and .withheld == 0 and (.missing | length) == .missing_other_copy' "$T/r1.json"
check "  stderr says so" grep -q "acknowledged by another copy of this vault" "$T/r1.err"
check "  it did not take itself for a put-back copy" quiet jq -e '.copy_detected == false' "$T/r1.json"
pr --json relay evidence >"$T/rev.json" 2>&1
check "  no evidence is stored against the relay" quiet jq -e 'length == 0' "$T/rev.json"
pb send Alpha "reply to the restored vault" >/dev/null 2>&1
pr --json sync >"$T/r2.json" 2>/dev/null
check "the restored vault opens Bravo's reply" quiet jq -e '.received == 1 and .rejected == 0' "$T/r2.json"

# --- a folder copied away and put back by hand ---------------------------------
pr sync >/dev/null 2>&1
pb sync >/dev/null 2>&1
cp -a "$A2" "$T/a2.copy"
pb send Alpha "while the copy was away" >/dev/null 2>&1
pr --json sync >"$T/r3.json" 2>/dev/null
check "the vault fetches a note while its copy is away" quiet jq -e '.received == 1' "$T/r3.json"
pr send Bravo "live vault before the put-back" >/dev/null 2>&1
pb sync >/dev/null 2>&1
sleep 1
rm -rf "$A2" && mv "$T/a2.copy" "$A2"
pr send Bravo "sent by the put-back copy" >"$T/pb.out" 2>"$T/pb.err"
check "the put-back copy's send exits 0" test $? -eq 0
check "  it says plainly it is an older copy and re-keyed before encrypting" \
	grep -q "older copy of itself.*Before encrypting anything it dropped" "$T/pb.err"
pb --json sync >"$T/b2.json" 2>"$T/b2.err"
check "Bravo opens everything the put-back copy sent (no reused message key)" \
	quiet jq -e '.received >= 2 and .rejected == 0' "$T/b2.json"
check "  and sees that Alpha put back an older copy" \
	bash -c "'$PARLEY' --vault '$B' --json thread Alpha | jq -e 'any(.[]; .kind == \"restored\" and .how == \"copy\")' >/dev/null"
pr --json sync >"$T/r4.json" 2>"$T/r4.err"
check "the put-back copy's sync exits 0 and lists the note its other copy fetched" \
	quiet jq -e '.missing_other_copy == 1 and .withheld == 0' "$T/r4.json"
pr --json relay evidence >"$T/rev2.json" 2>&1
check "  still no evidence against the relay" quiet jq -e 'length == 0' "$T/rev2.json"
pr --json sync >"$T/r5.json" 2>/dev/null
check "a later sync does not react again" quiet jq -e '.copy_detected == false and .missing_other_copy == 0' "$T/r5.json"

# put back once more, caught this time by sync (which reads the log of its
# own mailbox after fetching: what waited still opens) before it delivers
pb sync >/dev/null 2>&1
cp -a "$A2" "$T/a2.copy2"
pb send Alpha "while the second copy was away" >/dev/null 2>&1
pr sync >/dev/null 2>&1
sleep 1
rm -rf "$A2" && mv "$T/a2.copy2" "$A2"
pb send Alpha "to the copy put back again" >/dev/null 2>&1
pr --json sync >"$T/r6.json" 2>"$T/r6.err"
check "a copy put back is caught by sync too, and told to the user" \
	bash -c "jq -e '.copy_detected == true and .received == 1 and .withheld == 0 and .rejected == 0' '$T/r6.json' >/dev/null && grep -q 'older copy of itself' '$T/r6.err'"
pr send Bravo "after the second put-back" >/dev/null 2>&1
pb --json sync >"$T/b3.json" 2>/dev/null
check "  Bravo opens everything it sends after that" quiet jq -e '.received >= 2 and .rejected == 0' "$T/b3.json"

echo "1..$_n"
