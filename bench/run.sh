#!/usr/bin/env bash
# bench/run.sh BUILD — runs every benchmark in one go and prints one table.
#
# Ratchet: each implementation is its own process (bench/ratchet_*.c); the
# implementations are interleaved round by round (floor, parley, libsignal,
# olm; alternating then burst) so drift on a shared machine hits all of
# them alike, and the table shows the median of ROUNDS runs.
# Relay: bench/bare_httpd, parley-relay and parley-relay --no-log (the
# transparency log switched off: a benchmark switch) are started here on
# 127.0.0.1 port 0 with temporary data directories, driven by the same
# client (bench/relay_load) at 1, 8 and 64 senders, interleaved, median of
# RELAY_ROUNDS; every server is stopped on exit, whatever happens.
# Proof of outreach (bench/mbxlog_bench): the prover's queries to a real
# parley-relay holding MBXLOG_LEAVES (1,000,000) log leaves, beside one
# holding 1,000, median of MBXLOG_ROUNDS; about 15 s more.
# Unlock (bench/unlock_bench): pl_vault_open at the Argon2id cost of new
# vaults beside libsodium's INTERACTIVE cost, median of UNLOCK_ROUNDS; about
# 10 s more.
# PSI (bench/psi_bench): one side of a 2^20 x 2^20 ECDH-PSI of blind
# matching beside the libsodium floor, interleaved in 16 slices; about
# 220 s more at full size (PSI_BENCH_N=65536 shrinks it to ~15 s).
# Match (bench/match_e2e.sh): a 2^16 x 2^16 private count end to end, two
# vaults through a real parley-relay on loopback, beside psi_bench at the
# same size, interleaved, median of MATCH_E2E_ROUNDS (3); about 210 s more
# (MATCH_E2E_N=8192 shrinks it to ~30 s).
# Whole run: about 545 s; every child is under `timeout`.
set -u
cd "$(dirname "$0")/.."
build=${1:-build-bench}
B=$build/bench

ROUNDS=${ROUNDS:-5}
ALT_N=${ALT_N:-4000}
BURST_N=${BURST_N:-20000}
RELAY_ROUNDS=${RELAY_ROUNDS:-3}
RELAY_SECONDS=${RELAY_SECONDS:-2}
SENDERS=${SENDERS:-1 8 64}
PARTS=${PARTS:-ratchet relay log mbxlog unlock commit psi match} # which parts to run
MBXLOG_LEAVES=${MBXLOG_LEAVES:-1000000}
MBXLOG_ROUNDS=${MBXLOG_ROUNDS:-15}
UNLOCK_ROUNDS=${UNLOCK_ROUNDS:-5}
IMPLS="floor parley libsignal olm"

work=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin_of() { # impl -> binary
	case $1 in
	libsignal) echo "$B/ratchet_signal" ;;
	*) echo "$B/ratchet_$1" ;;
	esac
}

median() { # numbers on stdin -> median (empty if none)
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

fmt_int() { # 12345.6 -> 12,346 ; empty -> n/a
	if [ -z "$1" ]; then echo "n/a"; else printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; fi
}

ratio() { # a b -> a/b with 2 decimals, or n/a
	if [ -z "$1" ] || [ -z "$2" ]; then echo "n/a"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi
}

verdict() { # value threshold -> met / not met / not measured
	if [ "$1" = "n/a" ]; then echo "not measured"; else awk -v a="$1" -v t="$2" 'BEGIN { print (a >= t) ? "met" : "NOT MET" }'; fi
}

# ---- ratchet ----------------------------------------------------------------
want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
want ratchet || ROUNDS=0
echo "parley bench: ratchet, $ROUNDS rounds of $ALT_N alternating and $BURST_N burst 1 KiB messages per implementation" >&2
: >"$work/ratchet.txt"
for r in $(seq 1 "$ROUNDS"); do
	for impl in $IMPLS; do
		for mode in alt burst; do
			n=$ALT_N
			[ "$mode" = burst ] && n=$BURST_N
			bin=$(bin_of "$impl")
			if [ ! -x "$bin" ]; then
				echo "  $impl: $bin not built" >&2
				continue
			fi
			if ! timeout 60 "$bin" "$mode" "$n" >>"$work/ratchet.txt" 2>"$work/err.txt"; then
				echo "  $impl $mode (round $r) failed: $(head -c 300 "$work/err.txt")" >&2
			fi
		done
	done
	echo "  round $r done" >&2
done

declare -A med
for impl in $IMPLS; do
	for mode in alt burst; do
		med[$impl.$mode]=$(awk -v i="$impl" -v m="$mode" '$1 == "ratchet" && $2 == i && $3 == m { print $6 }' "$work/ratchet.txt" | median)
	done
done

# ---- relay ------------------------------------------------------------------
start_server() { # name cmd... ; sets port, appends pid
	local name=$1 out="$work/$1.out" i
	shift
	"$@" >"$out" 2>"$work/$name.err" &
	local pid=$!
	pids="$pids $pid"
	port=""
	for i in $(seq 1 100); do
		if head -n 1 "$out" 2>/dev/null | grep -q '^listening on 127\.0\.0\.1:[0-9][0-9]*$'; then
			port=$(head -n 1 "$out" | sed 's/.*://')
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "  $name did not start: $(head -c 300 "$work/$name.err")" >&2
	return 1
}

want relay || RELAY_ROUNDS=0
echo "parley bench: relay, $RELAY_ROUNDS rounds of ${RELAY_SECONDS} s per point" >&2
: >"$work/relay.txt"
bare_port=""
relay_port=""
nolog_port=""
if [ "$RELAY_ROUNDS" -gt 0 ] && [ -x "$B/bare_httpd" ] && start_server bare "$B/bare_httpd"; then
	bare_port=$port
fi
mkdir -p "$work/relay-data" "$work/nolog-data"
# relay_load makes a mailbox per sender, every round, all from 127.0.0.1:
# more than one address may create per hour by default (consulted only when
# a mailbox is created, in the untimed setup). Each sender's mailbox is
# never fetched, and one fast sender could pass 10000 messages in a run;
# the byte quota stays at its default, so every deposit still pays the
# quota check.
newmbx="--new-mailboxes-per-hour 0 --mailbox-max-messages 0"
if [ "$RELAY_ROUNDS" -gt 0 ] && [ -x "$build/parley-relay" ] &&
	start_server relay "$build/parley-relay" --listen 127.0.0.1:0 --data "$work/relay-data" $newmbx; then
	relay_port=$port
fi
if [ "$RELAY_ROUNDS" -gt 0 ] && [ -x "$build/parley-relay" ] &&
	start_server nolog "$build/parley-relay" --listen 127.0.0.1:0 --data "$work/nolog-data" --no-log $newmbx; then
	nolog_port=$port
fi
load() { # label port senders round receipt-flag...
	local label=$1 p=$2 n=$3 r=$4
	shift 4
	[ -n "$p" ] || return 0
	timeout 60 "$B/relay_load" "http://127.0.0.1:$p" "$n" "$RELAY_SECONDS" "$label" "$@" \
		>>"$work/relay.txt" 2>"$work/err.txt" ||
		echo "  $label $n senders (round $r): $(head -c 300 "$work/err.txt")" >&2
}
if [ -x "$B/relay_load" ]; then
	for r in $(seq 1 "$RELAY_ROUNDS"); do
		for n in $SENDERS; do
			load bare "$bare_port" "$n" "$r"
			load relay "$relay_port" "$n" "$r" --receipt
			load nolog "$nolog_port" "$n" "$r" --receipt-nolog
		done
	done
	echo "  relay done" >&2
fi

relay_med() { # label senders field(7=rate 8=p50 9=p99 6=errors)
	awk -v l="$1" -v n="$2" -v f="$3" '$1 == "relay" && $2 == l && $3 == n { print $f }' "$work/relay.txt" | median
}

# ---- table ------------------------------------------------------------------
echo
echo "== Ratchet: 1 KiB notes, encrypt + decrypt with wire encoding, msgs/s (median of $ROUNDS) =="
printf "%-6s %10s %10s %10s %10s | %13s %16s %10s\n" mode floor parley libsignal olm parley/floor parley/libsignal parley/olm
for mode in alt burst; do
	printf "%-6s %10s %10s %10s %10s | %12sx %15sx %9sx\n" "$mode" \
		"$(fmt_int "${med[floor.$mode]}")" "$(fmt_int "${med[parley.$mode]}")" \
		"$(fmt_int "${med[libsignal.$mode]}")" "$(fmt_int "${med[olm.$mode]}")" \
		"$(ratio "${med[parley.$mode]}" "${med[floor.$mode]}")" \
		"$(ratio "${med[parley.$mode]}" "${med[libsignal.$mode]}")" \
		"$(ratio "${med[parley.$mode]}" "${med[olm.$mode]}")"
done
echo "(alt: direction changes every message, so every message is a DH ratchet step; burst: one way)"

echo
echo "== Relay: durable deposits/s over loopback HTTP, 1,072-byte envelopes (median of $RELAY_ROUNDS x ${RELAY_SECONDS} s) =="
printf "%-7s %10s %12s | %10s %12s %12s | %10s | %10s %12s | %9s\n" senders bare/s "bare p99 ms" relay/s "relay p50 ms" "relay p99 ms" relay/bare "no-log/s" "no-log p99" "log cost"
declare -A rate
for n in $SENDERS; do
	b=$(relay_med bare "$n" 7)
	rl=$(relay_med relay "$n" 7)
	nl=$(relay_med nolog "$n" 7)
	rate[bare.$n]=$b
	rate[relay.$n]=$rl
	rate[nolog.$n]=$nl
	cost=n/a
	[ -n "$rl" ] && [ -n "$nl" ] && cost=$(awk -v a="$rl" -v b="$nl" 'BEGIN { printf "%.0f%%", (1 - a / b) * 100 }')
	printf "%-7s %10s %12s | %10s %12s %12s | %9sx | %10s %12s | %9s\n" "$n" "$(fmt_int "$b")" \
		"$(relay_med bare "$n" 9 | sed 's/^$/n\/a/')" "$(fmt_int "$rl")" \
		"$(relay_med relay "$n" 8 | sed 's/^$/n\/a/')" "$(relay_med relay "$n" 9 | sed 's/^$/n\/a/')" \
		"$(ratio "$rl" "$b")" "$(fmt_int "$nl")" "$(relay_med nolog "$n" 9 | sed 's/^$/n\/a/')" "$cost"
done
echo "(relay: with its transparency log, receipts checkpoint-signed; no-log: parley-relay --no-log, a"
echo " benchmark switch; log cost = 1 - relay/no-log)"
echo
echo "== Targets =="
target() { # label value threshold
	local shown=$2
	[ "$shown" = "n/a" ] || shown="${shown}x"
	printf "%-55s %7s  %s\n" "$1" "$shown" "$(verdict "$2" "$3")"
}
target "ratchet alternating: parley >= 0.60x libsodium floor" \
	"$(ratio "${med[parley.alt]:-}" "${med[floor.alt]:-}")" 0.6
target "ratchet burst: parley >= 0.60x libsodium floor" \
	"$(ratio "${med[parley.burst]:-}" "${med[floor.burst]:-}")" 0.6
target "relay at 64 senders: >= 0.50x bare handler" \
	"$(ratio "${rate[relay.64]:-}" "${rate[bare.64]:-}")" 0.5
for n in 1 64; do
	target "log at $n sender(s): relay >= 0.75x no-log (cost <= 25%)" \
		"$(ratio "${rate[relay.$n]:-}" "${rate[nolog.$n]:-}")" 0.75
done
if want log && [ -x "$B/log_bench" ]; then
	echo
	echo "== Transparency log: proofs over a 1,000,000-leaf tree, µs per operation, beside the SHA-256 floor =="
	timeout 300 "$B/log_bench" 1000000 20000 || echo "log_bench failed or timed out"
fi
if want mbxlog && [ -x "$B/mbxlog_bench" ] && [ -x "$build/parley-relay" ]; then
	echo
	echo "== Proof of outreach: the prover's relay work at $(fmt_int "$MBXLOG_LEAVES") log leaves, beside 1,000 (median of $MBXLOG_ROUNDS) =="
	mkdir -p "$work/mbxlog"
	timeout 600 "$B/mbxlog_bench" "$build/parley-relay" "$work/mbxlog" "$MBXLOG_LEAVES" "$MBXLOG_ROUNDS" ||
		echo "mbxlog_bench failed or timed out"
	rm -rf "$work/mbxlog"
fi
if want unlock && [ -x "$B/unlock_bench" ]; then
	echo
	echo "== Vault unlock: Argon2id at the new cost beside INTERACTIVE (median of $UNLOCK_ROUNDS) =="
	mkdir -p "$work/unlock"
	timeout 120 "$B/unlock_bench" "$work/unlock" "$UNLOCK_ROUNDS" || echo "unlock_bench failed or timed out"
	rm -rf "$work/unlock"
fi
if want commit && [ -x "$B/commit_bench" ]; then
	echo
	echo "== Vault commit: the sealed file beside plain SQLite WAL (median of 21) =="
	mkdir -p "$work/commit"
	timeout 300 "$B/commit_bench" "$work/commit" 21 || echo "commit_bench failed or timed out"
	rm -rf "$work/commit"
fi
if want psi && [ -x "$B/psi_bench" ]; then
	echo
	echo "== PSI: one side of an N x N ECDH-PSI (blind matching), one core, beside the libsodium floor =="
	timeout 900 "$B/psi_bench" || echo "psi_bench failed or timed out" # PSI_BENCH_N: its size
fi
if want match && [ -x "$build/parley" ] && [ -x "$build/parley-relay" ]; then
	echo
	echo "== Blind match end to end: a ${MATCH_E2E_N:-65536} x ${MATCH_E2E_N:-65536} private count, two vaults through parley-relay on loopback (median of ${MATCH_E2E_ROUNDS:-3}) =="
	timeout 900 bash bench/match_e2e.sh "$build" || echo "match_e2e failed or timed out" # MATCH_E2E_N, MATCH_E2E_ROUNDS
fi
