#!/bin/sh
# Installs the Debian 12 packages parley needs to build, test, fuzz and
# benchmark. Idempotent: asks apt only for what dpkg says is missing, so a
# machine that has everything never touches the network. wamerican is the
# word list `parley init --generate-passphrase` draws from. pango and cairo
# write the PDF agreement (right-to-left names shaped), DejaVu is its font,
# poppler-utils' pdftotext lets make check read the PDF back.
set -eu
PKGS="build-essential pkg-config libsodium-dev libsqlite3-dev libmicrohttpd-dev
libcurl4-openssl-dev libjansson-dev libcmocka-dev clang-14 libclang-rt-14-dev
llvm-14 jq curl openssl sqlite3 procps libsignal-protocol-c-dev libolm-dev
libssl-dev wamerican libpango1.0-dev libcairo2-dev fonts-dejavu-core poppler-utils"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing; run as root: apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
