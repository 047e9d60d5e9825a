#!/usr/bin/env bash
# A recipient's mailbox at its quota on the relay (parley-relay
# --mailbox-max-messages), through the real CLI: the sender's note is
# refused with the relay's reason, in one error line, and stays queued;
# once the recipient syncs (fetching and acknowledging what waits), the
# sender's next sync delivers it.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
meet() {
	p "$1" contact add "$3" "$(key "$2")" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}
last_state() { p "$A" --json thread Iran | jq -r '.[-1].state'; }

start_relay relay --mailbox-max-messages 2 || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran"; do
	p "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
meet "$A" "$B" Iran && meet "$B" "$A" "United States"
ok "two vaults meet"

p "$A" send Iran "one" >/dev/null 2>&1 && p "$A" send Iran "two" >/dev/null 2>&1
check "two notes fill Iran's mailbox (quota 2)" test "$(last_state)" = delivered

p "$A" send Iran "three" >"$T/out" 2>"$T/err"; rc=$?
check "the third is not delivered: queued (exit 0, as when the relay is down)" bash -c "[ $rc -eq 0 ] && grep -q '^queued ' '$T/out'"
check "  with one error line giving the relay's reason" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q \"^parley: note .* queued, not delivered: .*HTTP 507: the recipient's mailbox on this relay is full; nothing was stored; try again after they sync\" '$T/err'"
sed "s/^/# /" "$T/err"
check "  saying it stays queued" grep -q "stays queued" "$T/err"
check "  and it is queued in the vault" test "$(last_state)" = queued

check "Iran syncs and reads the two notes" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 2
p "$A" sync >/dev/null 2>&1
check "the next sync of the United States delivers the third" test "$(last_state)" = delivered
check "  and Iran reads it" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 1
