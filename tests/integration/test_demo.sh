#!/usr/bin/env bash
# `parley demo` plays the seed story through the real relay and protocol and
# exits 0 only if every step verified. (Its speed is reported, not asserted:
# timings belong to make bench.)
. "$(dirname "$0")/lib.sh"
start=$(date +%s%N)
timeout 120 "$PARLEY" demo >"$T/demo.out" 2>"$T/demo.err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# parley demo took ${ms} ms"
check "demo exits 0" test $rc -eq 0
check "  and says every step verified" grep -q '^Every step verified\.$' "$T/demo.out"
check "  four outreaches, fetched and unanswered" bash -c "[ \$(grep -c 'outreach [1-4] deposited' $T/demo.out) -eq 4 ] && grep -q 'answered none' $T/demo.out"
check "  the medical-leave request is answered" grep -q 'three months of medical leave' "$T/demo.out"
check "  the table names who is released by whom" bash -c "grep -Eq '^  Ahmad Sheikhzadeh +United States +Iran' $T/demo.out && grep -Eq '^  Baquer Namazi +Iran +United States' $T/demo.out && grep -Eq '^  Xiyue Wang +Iran +United States' $T/demo.out"
check "  it shows the proposal and counter with every term, parties named" bash -c "grep -q '^    Iran releases:' $T/demo.out && grep -q '^    United States releases:' $T/demo.out && grep -q '1. independent medical check before transfer' $T/demo.out && grep -q 'mediator: Switzerland (key ' $T/demo.out && grep -q 'proposal \[accepted\]' $T/demo.out"
check "  before any proposal, a blind intent match: both said yes, both learn it" bash -c "grep -q 'Both learn' $T/demo.out && grep -q 'MATCH, and each holds the other' $T/demo.out && [ \$(grep -n 'Both learn' $T/demo.out | cut -d: -f1 | head -1) -lt \$(grep -n '^5. Iran proposes' $T/demo.out | cut -d: -f1) ]"
check "  and a private count: 2 of Iran's list, not which" grep -q 'Both learn 2: how many' "$T/demo.out"
check "  Switzerland guarantees the agreement" grep -q 'both vaults now show it' "$T/demo.out"
check "  the plan is carried out: five steps confirmed, no abort after the handover" bash -c "grep -q '^  status: completed' $T/demo.out && [ \$(grep -c '^  [1-5]\. [a-z]* \[confirmed\]' $T/demo.out) -eq 5 ] && grep -q 'point of no return: handover; passed' $T/demo.out"
check "  nothing on stderr" test ! -s "$T/demo.err"
check "  it leaves no temporary folder behind" bash -c "! ls -d \${TMPDIR:-/tmp}/parley-demo.* 2>/dev/null | grep -q ."
echo "1..$_n"
