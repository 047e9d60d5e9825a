#!/usr/bin/env bash
# The relay over HTTPS: a client given the relay's certificate at init
# (--relay-cert) talks to it; a client without it (system store) is refused
# with a one-line error and queues the note; nothing is sent in clear.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey ed25519 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1" \
		-keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
check "made a self-signed certificate" test -s "$T/cert.pem"
start_relay relay --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" || { notok "TLS relay starts"; exit 1; }
URL="https://127.0.0.1:$RELAY_PORT"
ok "TLS relay starts"
check "curl with the certificate reaches it" curl -sf --cacert "$T/cert.pem" -o /dev/null "$URL/v1/relay"
fails "plain HTTP to it fails" curl -sf -m 5 -o /dev/null "http://127.0.0.1:$RELAY_PORT/v1/relay"

A="$T/a" B="$T/b" C="$T/c"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
check "init A with --relay-cert" pa --json init --name Alpha --relay "$URL" --relay-cert "$T/cert.pem"
check "init B with --relay-cert" pb init --name Bravo --relay "$URL" --relay-cert "$T/cert.pem"
fails "init refuses a --relay-cert that is not PEM" "$PARLEY" --vault "$T/x" init --name X --relay "$URL" --relay-cert "$T/key.pem.missing" 2>/dev/null
KA=$(pa --json id | jq -r .key)
KB=$(pb --json id | jq -r .key)
pa contact add Bravo "$KB" >/dev/null && pb contact add Alpha "$KA" >/dev/null
SN=$(pa --json contact show Bravo | jq -r .safety_number)
pa contact verify Bravo "$SN" >/dev/null && pb contact verify Alpha "$SN" >/dev/null
check "send over HTTPS is delivered" jq -e '.state == "delivered"' <(pa --json send Bravo "over tls")
check "B receives over HTTPS" jq -e '.received == 1' <("$PARLEY" --vault "$B" --json sync)

"$PARLEY" --vault "$C" init --name Charlie --relay "$URL" >"$T/c.out" 2>"$T/c.err"
check "a client without the certificate still creates its vault" test -f "$C/vault.pv"
check "  and warns that the relay's certificate did not verify" grep -qi 'certificate\|tls\|verify' "$T/c.err"
fails "  and its sync fails" "$PARLEY" --vault "$C" sync 2>"$T/c2.err"
check "  with one error line" test "$(wc -l <"$T/c2.err")" -eq 1
echo "1..$_n"
