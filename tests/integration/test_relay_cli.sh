#!/usr/bin/env bash
# test_relay_cli.sh — parley-relay as a program: --help, the "listening on"
# line with port 0 and a fixed port, one-line usage errors, clean SIGTERM,
# HTTPS with a self-signed certificate, and a few plain curl requests.
. "$(dirname "$0")/lib.sh"

# --help
"$RELAY" --help >"$T/help.out" 2>&1
check "--help exits 0" test $? -eq 0
check "--help shows usage" grep -q -- '--listen ADDR:PORT' "$T/help.out"

# bad arguments: non-zero exit and exactly one line "parley-relay: ..." on stderr
bad_args() { # description args...
	local d=$1
	shift
	"$RELAY" "$@" >"$T/bad.out" 2>"$T/bad.err" </dev/null
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$(wc -l <"$T/bad.err")" -eq 1 ] &&
		grep -q '^parley-relay: ' "$T/bad.err" && [ ! -s "$T/bad.out" ]; then
		ok "bad args: $d (exit $rc)"
	else
		notok "bad args: $d (exit $rc, stderr: $(head -c 300 "$T/bad.err"))"
	fi
}
mkdir -p "$T/d"
bad_args "no arguments"
bad_args "unknown flag" --listen 127.0.0.1:0 --data "$T/d" --frobnicate
bad_args "missing --data" --listen 127.0.0.1:0
bad_args "missing --listen" --data "$T/d"
bad_args "--listen without value" --data "$T/d" --listen
bad_args "hostname instead of address" --listen localhost:80 --data "$T/d"
bad_args "port out of range" --listen 127.0.0.1:99999 --data "$T/d"
bad_args "no port" --listen 127.0.0.1 --data "$T/d"
bad_args "port with sign" --listen 127.0.0.1:+80 --data "$T/d"
bad_args "--tls-cert without --tls-key" --listen 127.0.0.1:0 --data "$T/d" --tls-cert /nonexistent
bad_args "unreadable certificate" --listen 127.0.0.1:0 --data "$T/d" --tls-cert /nonexistent --tls-key /nonexistent
bad_args "data is a file" --listen 127.0.0.1:0 --data /etc/hostname
bad_args "--listen twice" --listen 127.0.0.1:0 --listen 127.0.0.1:0 --data "$T/d"
bad_args "--print-key with --listen" --print-key --listen 127.0.0.1:0 --data "$T/d"
bad_args "--print-key without --data" --print-key
bad_args "--print-key with --no-log" --print-key --no-log --data "$T/d"
bad_args "--no-log twice" --no-log --no-log --listen 127.0.0.1:0 --data "$T/d"

# --print-key: one line, the log's C2SP verifier key; creates relay.key if needed
"$RELAY" --print-key --data "$T/pk" >"$T/pk.out" 2>"$T/pk.err"
check "--print-key exits 0" test $? -eq 0
check "--print-key prints one line and nothing on stderr" test "$(wc -l <"$T/pk.out")" -eq 1 -a ! -s "$T/pk.err"
check "--print-key prints name+keyid+base64" grep -Eq '^parley\.relay/[0-9a-f]{16}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' "$T/pk.out"
check "--print-key created relay.key (mode 600)" test "$(stat -c %a "$T/pk/relay.key")" = 600
"$RELAY" --print-key --data "$T/pk" >"$T/pk2.out" 2>/dev/null
check "--print-key is stable" cmp -s "$T/pk.out" "$T/pk2.out"

# port 0: the first line names the port; the relay key is 33 bytes
if start_relay r0; then
	ok "port 0 prints 'listening on 127.0.0.1:$RELAY_PORT'"
	check "first stdout line is exactly the listening line" \
		test "$(head -n 1 "$T/r0.out")" = "listening on 127.0.0.1:$RELAY_PORT"
	n=$(curl -s --max-time 5 "$RELAY_URL/v1/relay" | wc -c)
	check "GET /v1/relay returns 33 bytes (got $n)" test "$n" -eq 33
	code=$(curl -s -o "$T/nf.out" -w '%{http_code}' --max-time 5 "$RELAY_URL/no/such/path")
	check "unknown path is 404 (got $code)" test "$code" = 404
	check "404 body is one text line" test "$(wc -l <"$T/nf.out")" -eq 1
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RELAY_URL/v1/bundle/XYZ")
	check "bad mailbox id is 400 (got $code)" test "$code" = 400
	check "relay.key is mode 600" test "$(stat -c %a "$T/r0/relay.key")" = 600
	# the printed verifier key holds the key GET /v1/relay serves, and names its origin
	vkey=$("$RELAY" --print-key --data "$T/r0" 2>/dev/null)
	want=$(curl -s --max-time 5 "$RELAY_URL/v1/relay" | tail -c 32 | od -An -tx1 | tr -d ' \n')
	b64=${vkey#*+} # name+keyid+base64: base64 itself may hold "+"
	b64=${b64#*+}
	got=$(printf '%s' "$b64" | base64 -d 2>/dev/null | tail -c 32 | od -An -tx1 | tr -d ' \n')
	check "--print-key's key is the relay's key" test -n "$want" -a "$want" = "$got"
	check "its name is parley.relay/ and the key's first 8 bytes" test "${vkey%%+*}" = "parley.relay/${want:0:16}"
	code=$(curl -s -o "$T/cp.out" -w '%{http_code} %{content_type}' --max-time 5 "$RELAY_URL/log/checkpoint")
	check "GET /log/checkpoint is 200 text/plain (got $code)" test "$code" = "200 text/plain; charset=utf-8"
	check "  its first line is the origin" test "$(head -n 1 "$T/cp.out")" = "${vkey%%+*}"
	check "  its second line is the size 0" test "$(sed -n 2p "$T/cp.out")" = 0
	check "  it is signed under the origin" grep -q "^— ${vkey%%+*} " "$T/cp.out"
	# a second relay on the same data directory is refused
	timeout 5 "$RELAY" --listen 127.0.0.1:0 --data "$T/r0" >/dev/null 2>"$T/dup.err"
	rc=$?
	check "second relay on the same data directory is refused ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "refusal names the reason" grep -q '^parley-relay: .*in use by another relay' "$T/dup.err"
	# the port is taken: a clear error
	"$RELAY" --listen "127.0.0.1:$RELAY_PORT" --data "$T/d" >/dev/null 2>"$T/inuse.err"
	rc=$?
	check "port in use: non-zero exit ($rc)" test "$rc" -ne 0
	check "port in use: one-line error" grep -q '^parley-relay: cannot listen' "$T/inuse.err"
	fixed=$RELAY_PORT
	t0=$(date +%s%N)
	stop_relay
	rc=$?
	t1=$(date +%s%N)
	check "SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
	check "SIGTERM exits within 2 s" test $(((t1 - t0) / 1000000)) -lt 2000
	# the same port again, given explicitly, with the same data
	if start_relay r0 --listen "127.0.0.1:$fixed"; then
		check "fixed port $fixed is used" test "$RELAY_PORT" = "$fixed"
		n=$(curl -s --max-time 5 "$RELAY_URL/v1/relay" | wc -c)
		check "fixed port answers" test "$n" -eq 33
		kill -INT "$RELAY_PID"
		wait "$RELAY_PID"
		check "SIGINT exits 0" test $? -eq 0
	else
		notok "relay restarts on fixed port $fixed"
	fi
else
	notok "relay starts on port 0"
fi

# HTTPS with a self-signed certificate
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1; then
	if start_relay tls --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"; then
		url="https://127.0.0.1:$RELAY_PORT"
		n=$(curl -s --max-time 5 --cacert "$T/tls.crt" "$url/v1/relay" | wc -c)
		check "HTTPS GET /v1/relay with --cacert returns 33 bytes (got $n)" test "$n" -eq 33
		fails "HTTPS without trusting the certificate" curl -s -f --max-time 5 -o /dev/null "$url/v1/relay"
		fails "plain HTTP to the HTTPS port" curl -s -f --max-time 5 -o /dev/null "http://127.0.0.1:$RELAY_PORT/v1/relay"
		n=$(curl -s --max-time 5 --cacert "$T/tls.crt" "$url/v1/relay" | wc -c)
		check "HTTPS still served after a plain-HTTP attempt" test "$n" -eq 33
		stop_relay
		check "HTTPS relay stops with 0 on SIGTERM" test $? -eq 0
	else
		notok "relay starts with TLS"
	fi
	bad_args "certificate and key swapped" --listen 127.0.0.1:0 --data "$T/d" --tls-cert "$T/tls.key" --tls-key "$T/tls.crt"
else
	notok "openssl could not make a self-signed certificate"
fi

echo "1..$_n"
