#!/usr/bin/env bash
# bench/match_e2e.sh BUILD — a private count ("blind match", issue 16,
# docs/MATCH.md) of N x N person identifiers end to end: the real `parley`
# CLI on two vaults, through the real `parley-relay` on loopback.
#
# Each round starts a fresh relay (127.0.0.1 port 0, a data directory under
# a mktemp folder) and two fresh vaults ("United States", "Iran"; Argon2id
# at the test cost PARLEY_TEST_KDF=minimal, so the dozen vault opens do not
# dominate: unlock has its own part), exchanges and verifies keys as
# tests/integration/test_match.sh does, all untimed. Then, timed with the
# wall clock: `match count` on each side (the commitment: N identifiers
# hashed to the group and blinded, the list's hash signed and sent), then
# `sync` on A, `sync` on B, round after round (at most 20 rounds) until
# `match show --json` says "done" on both sides; the show polls are part of
# the total. Both results must be the known overlap (N/2), else it stops.
#
# The peer, measured in the same run and interleaved round by round:
# bench/psi_bench at the same N (parley's side only: blind + reblind +
# sort + set + lookups), times two for the two sides. e2e / that is what
# the relay, the vaults, the ratchet sessions, the parts and the processes
# cost on top of the group work.
#
#   MATCH_E2E_N       identifiers per side (default 65536; a multiple of 16)
#   MATCH_E2E_ROUNDS  rounds (default 3); the table shows medians
#
# Every wait is bounded; the relay is stopped and the folder removed on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build-bench}
N=${MATCH_E2E_N:-65536}
ROUNDS=${MATCH_E2E_ROUNDS:-3}
SYNC_MAX=20
PARLEY=$build/parley
RELAY=$build/parley-relay
PSI=$build/bench/psi_bench

die() {
	echo "match_e2e: $*" >&2
	exit 1
}
{ [ -x "$PARLEY" ] && [ -x "$RELAY" ]; } || die "$PARLEY or $RELAY is not built"
command -v jq >/dev/null || die "jq is needed"
case $N in '' | *[!0-9]*) die "MATCH_E2E_N must be a number" ;; esac
{ [ "$N" -ge 16 ] && [ $((N % 16)) -eq 0 ]; } || die "MATCH_E2E_N must be a multiple of 16"

T=$(mktemp -d "${TMPDIR:-/tmp}/parley-match-e2e.XXXXXX")
relay_pid=""
stop_relay() {
	[ -n "$relay_pid" ] || return 0
	kill -TERM "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=""
}
cleanup() {
	stop_relay
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PARLEY_PASSPHRASE="correct horse battery staple"
export PARLEY_TEST_KDF=minimal
unset PARLEY_VAULT

ms() { echo $(($(date +%s%N) / 1000000)); }
median() { # numbers on stdin -> median (empty if none)
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fmt_int() { # 12345.6 -> 12,346 ; empty -> n/a
	if [ -z "$1" ]; then echo "n/a"; else printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; fi
}

cpu_children() { # VAR: user + sys of this shell's finished children, ms
	# (times runs in this shell: in $(...) it would see a subshell's)
	times >"$T/times"
	printf -v "$1" "%s" "$(tail -n 1 "$T/times" | awk '{ t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60000 + a[2] * 1000 }
		printf "%.0f", t }')"
}
relay_cpu_ms() { # user + sys of the running relay so far, ms
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$relay_pid/stat" 2>/dev/null || echo 0
}

# start_relay DIR: sets relay_pid, relay_url; waits at most 10 s.
start_relay() {
	mkdir -p "$1"
	"$RELAY" --listen 127.0.0.1:0 --data "$1" --new-mailboxes-per-hour 0 >"$1.out" 2>"$1.err" &
	relay_pid=$!
	local i port
	for i in $(seq 1 500); do
		if grep -q '^listening on ' "$1.out"; then
			port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1.out" | head -n 1)
			relay_url="http://127.0.0.1:$port"
			return 0
		fi
		kill -0 "$relay_pid" 2>/dev/null || break
		sleep 0.02
	done
	die "relay did not start: $(head -c 300 "$1.err")"
}

# p VAULT ARGS...: one parley command, bounded; stderr to $T/last.err.
p() {
	local v=$1
	shift
	timeout 600 "$PARLEY" --vault "$v" "$@" 2>"$T/last.err"
}
pfail() { die "$* failed: $(head -c 400 "$T/last.err")"; }

# The two lists: A holds 1..N, B holds N/2+1..N/2+N; N/2 in common.
seq 1 "$N" | sed 's/^/IRN:C/' >"$T/a.ids"
seq $((N / 2 + 1)) $((N / 2 + N)) | sed 's/^/IRN:C/' >"$T/b.ids"
WANT=$((N / 2))

: >"$T/steps.txt" # round step ms
: >"$T/psi.txt"	  # round parley_one_side_s

# step NAME COMMAND...: times one command of round $r, its stdout in
# $d/NAME.json, the milliseconds appended to steps.txt (r, d: one_round's).
step() {
	local name=$1 s0 s1
	shift
	s0=$(ms)
	"$@" >"$d/$name.json" || pfail "round $r: $name"
	s1=$(ms)
	echo "$r $name $((s1 - s0))" >>"$T/steps.txt"
}

one_round() { # r
	local r=$1 d="$T/r$1" A B KA KB SN ID t0 t s i done_a done_b c0 c1 rc0
	mkdir -p "$d"
	A="$d/us" B="$d/iran"
	start_relay "$d/relay"
	p "$A" init --name "United States" --relay "$relay_url" >/dev/null || pfail "init A"
	p "$B" init --name Iran --relay "$relay_url" >/dev/null || pfail "init B"
	KA=$(p "$A" --json id | jq -r .key) || pfail "id A"
	KB=$(p "$B" --json id | jq -r .key) || pfail "id B"
	p "$A" contact add Iran "$KB" >/dev/null || pfail "contact add A"
	p "$B" contact add "United States" "$KA" >/dev/null || pfail "contact add B"
	SN=$(p "$A" --json contact show Iran | jq -r .safety_number) || pfail "contact show"
	p "$A" contact verify Iran "$SN" >/dev/null || pfail "contact verify A"
	p "$B" contact verify "United States" "$SN" >/dev/null || pfail "contact verify B"
	[ "$(p "$B" --json contact show "United States" | jq -r .verified)" = true ] ||
		die "round $r: the contacts are not verified"
	cpu_children c0
	rc0=$(relay_cpu_ms)
	t0=$(ms)
	step count_A p "$A" --json match count Iran --detainees "@$T/a.ids" --max "$N" --label "e2e"
	step count_B p "$B" --json match count "United States" --detainees "@$T/b.ids" --max "$N" --label "e2e"
	ID=$(jq -r .id "$d/count_A.json")
	[ "$(jq -r .id "$d/count_B.json")" = "$ID" ] || die "round $r: the two sides made different matches"
	done_a="" done_b="" shows=0
	for i in $(seq 1 "$SYNC_MAX"); do
		step "sync${i}_A" p "$A" sync
		step "sync${i}_B" p "$B" sync
		s=$(ms)
		p "$A" --json match show "$ID" >"$d/show_A.json" || pfail "round $r: show A"
		p "$B" --json match show "$ID" >"$d/show_B.json" || pfail "round $r: show B"
		shows=$((shows + $(ms) - s))
		done_a=$(jq -r .state "$d/show_A.json") done_b=$(jq -r .state "$d/show_B.json")
		[ "$done_a" = "done" ] && [ "$done_b" = "done" ] && break
	done
	t=$(ms)
	cpu_children c1
	echo "$r cpu $((c1 - c0))" >>"$T/steps.txt"
	echo "$r relay_cpu $(($(relay_cpu_ms) - rc0))" >>"$T/steps.txt"
	[ "$done_a" = "done" ] && [ "$done_b" = "done" ] ||
		die "round $r: not done after $SYNC_MAX sync rounds (A: $done_a, B: $done_b)"
	for s in A B; do
		[ "$(jq -r .result "$d/show_$s.json")" = "$WANT" ] ||
			die "round $r: side $s counted $(jq -r .result "$d/show_$s.json") in common, not $WANT"
	done
	echo "$r shows $shows" >>"$T/steps.txt"
	echo "$r total $((t - t0))" >>"$T/steps.txt"
	echo "$r sync_rounds $i" >>"$T/steps.txt"
	stop_relay
	rm -rf "$d"
}

peer_round() { # r: psi_bench at N, parley's side
	local r=$1 line
	[ -x "$PSI" ] || return 0
	if ! line=$(timeout 600 "$PSI" "$N" 2>/dev/null | grep '^psi n='); then
		echo "  psi_bench (round $r) failed" >&2
		return 0
	fi
	echo "$line" | awk -v r="$r" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print r, v["parley_s"] + v["parley_lists_s"] }' >>"$T/psi.txt"
}

echo "parley bench: match e2e, $ROUNDS rounds of a $N x $N private count through parley-relay" >&2
for r in $(seq 1 "$ROUNDS"); do
	# alternate which goes first, so drift hits both alike
	if [ $((r % 2)) -eq 1 ]; then
		one_round "$r"
		peer_round "$r"
	else
		peer_round "$r"
		one_round "$r"
	fi
	echo "  round $r: $(awk -v r="$r" '$1 == r && $2 != "sync_rounds" { printf "%s %s ms, ", $2, $3 }' "$T/steps.txt" |
		sed 's/, $//')$(awk -v r="$r" '$1 == r { printf "; psi_bench one side %.2f s", $2 }' "$T/psi.txt")" >&2
done

med() { awk -v s="$1" '$2 == s { print $3 }' "$T/steps.txt" | median; }
runs() { # the rounds' figures of one step, in order
	local v out=""
	for v in $(awk -v s="$1" '$2 == s { print $3 }' "$T/steps.txt"); do
		out="$out${out:+, }$(fmt_int "$v")"
	done
	echo "$out"
}
total=$(med total)
one=$(awk '{ print $2 * 1000 }' "$T/psi.txt" | median)
two=""
[ -n "$one" ] && two=$(awk -v a="$one" 'BEGIN { print a * 2 }')
ratio=n/a
[ -n "$total" ] && [ -n "$two" ] && ratio=$(awk -v a="$total" -v b="$two" 'BEGIN { printf "%.2f", a / b }')

echo "match_e2e n=$N rounds=$ROUNDS total_ms=${total:-} psi_one_side_ms=${one:-} ratio=$ratio"
printf "%-46s %10s   %s\n" "wall clock, ms" "median" "rounds"
row() { printf "%-46s %10s   %s\n" "$1" "$(fmt_int "$(med "$2")")" "$(runs "$2")"; }
row "match count, United States (commit)" count_A
row "match count, Iran (commit)" count_B
maxr=$(awk '$2 == "sync_rounds" { print $3 }' "$T/steps.txt" | sort -n | tail -n 1)
for i in $(seq 1 "${maxr:-0}"); do
	row "sync round $i, United States" "sync${i}_A"
	row "sync round $i, Iran" "sync${i}_B"
done
row "match show on both, after each sync round" shows
row "total, first count to both done" total
row "  CPU of the client commands (user + sys)" cpu
row "  CPU of parley-relay meanwhile" relay_cpu
printf "%-46s %10s   %s\n" "peer: psi_bench parley side x 2 (in-process)" "$(fmt_int "$two")" \
	"$(for v in $(awk '{ print $2 * 2000 }' "$T/psi.txt"); do printf "%s, " "$(fmt_int "$v")"; done | sed 's/, $//')"
echo "e2e / in-process x 2: ${ratio}x (relay, vaults, sessions, parts, processes on top of the group work)"
echo "both sides counted $WANT in common, every round; sync rounds to done: $(runs sync_rounds)"
