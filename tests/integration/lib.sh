# lib.sh — shared by the integration scripts: TAP output, temporary folders,
# and starting the real parley-relay on a free loopback port. Every wait is
# bounded. Source it; it installs an EXIT trap that stops what it started.
set -u
: "${PARLEY_BUILD:?PARLEY_BUILD must name a build directory}"
PARLEY="$PARLEY_BUILD/parley"
RELAY="$PARLEY_BUILD/parley-relay"
# vaultsql DIR SQL: SQL on a sealed vault, as its owner (tests/tools/vaultsql.c)
VAULTSQL="$PARLEY_BUILD/vaultsql"
T=$(mktemp -d /tmp/parley-test.XXXXXX)
export PARLEY_PASSPHRASE="correct horse battery staple"
# Test suites run thousands of commands: their vaults get Argon2id's minimum
# cost (8 KiB, 1 pass) instead of the strong one (parley warns on stderr). Only for
# tests; a script testing the strong cost unsets it.
export PARLEY_TEST_KDF=minimal
unset PARLEY_VAULT
_n=0
_pids=()

cleanup() {
	local p
	for p in "${_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	# give them up to 1 s to exit cleanly (usually a few ms), then KILL
	local i alive
	for i in $(seq 1 50); do
		alive=0
		for p in "${_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.02
	done
	for p in "${_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
notok() { _n=$((_n + 1)); echo "not ok $_n - $*"; }
# check "description" command...: passes when the command exits 0
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
# fails "description" command...: passes when the command exits non-zero
fails() {
	local d=$1
	shift
	if "$@"; then notok "$d (unexpectedly succeeded)"; else ok "$d"; fi
}

# start_relay NAME [--listen ADDR] [extra args]: data in $T/NAME; sets
# RELAY_PID, RELAY_PORT, RELAY_URL. Waits at most 10 s for "listening on",
# looking every 20 ms (a relay is usually up in well under 100 ms).
start_relay() {
	local name=$1
	shift
	local listen=127.0.0.1:0
	if [ "${1:-}" = --listen ]; then
		listen=$2
		shift 2
	fi
	mkdir -p "$T/$name"
	: >"$T/$name.out"
	"$RELAY" --listen "$listen" --data "$T/$name" "$@" >"$T/$name.out" 2>>"$T/$name.err" &
	RELAY_PID=$!
	_pids+=("$RELAY_PID")
	local i
	for i in $(seq 1 500); do
		if grep -q '^listening on ' "$T/$name.out"; then
			RELAY_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/$name.out" | head -n 1)
			RELAY_URL="http://127.0.0.1:$RELAY_PORT"
			return 0
		fi
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "# relay did not start: $(cat "$T/$name.err" 2>/dev/null)"
	return 1
}

stop_relay() { kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; }
kill9_relay() { kill -KILL "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; }
# quiet command...: runs it with its output discarded (for use inside check)
quiet() { "$@" >/dev/null 2>&1; }

# flip FILE POS OUT: OUT is FILE with the byte at offset POS flipped (0x01,
# or 0x20 for a newline), the flip the unit test test_tamper makes at every
# offset.
flip() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); i = int(sys.argv[2])
b[i] ^= 0x01 if b[i] != 0x0a else 0x20
open(sys.argv[3], "wb").write(b)
PY
}
# value_offset FILE KEY [BACK]: the offset BACK bytes (default 20) before
# the closing quote of the first string value of "KEY" in FILE (for a
# base64 or hex value, a byte of the signature at its end).
value_offset() {
	python3 - "$1" "$2" "${3:-20}" <<'PY'
import sys
b = open(sys.argv[1], "rb").read(); k = b'"' + sys.argv[2].encode() + b'": "'
i = b.index(k) + len(k); print(b.index(b'"', i) - int(sys.argv[3]))
PY
}
# tamper_all "desc" FILE [--relay-key VKEY]: the unit test test_tamper flips
# every byte of FILE in one process (each must be refused with exit class 5
# or 6 and one line of reason); its output is shown as comments on failure.
tamper_all() {
	local d=$1
	shift
	if "$PARLEY_BUILD/tests/test_tamper" "$@" >"$T/tamper.out" 2>&1; then
		ok "$d"
	else
		notok "$d"
		grep -v '^ok ' "$T/tamper.out" | head -n 20 | sed 's/^/# /'
	fi
}
