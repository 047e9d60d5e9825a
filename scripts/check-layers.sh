#!/bin/sh
# check-layers.sh — the layering rule of src/ (docs/DESIGN.md): each folder
# may include only its own headers and those of folders to its left in ORDER
# (lowest first). tools/ holds only main()s and may include anything, but
# only from folders that exist in ORDER. A folder under src/ that is not in
# ORDER fails the check until it is given its place.
#
# Reads only the `#include "..."` lines; prints one line per wrong-way
# include (file:line: FOLDER may not include OTHER/...) and exits 1 if there
# is any, 0 if none. It never changes a file. (make layers runs it alone;
# tests/run.sh runs it once in make check as one TAP test.)
set -eu
cd "$(dirname "$0")/.."
ORDER="util crypto identity session envelope auth log negotiation export relay vault client cli"

bad=0
for d in src/*/; do
	[ -d "$d" ] || continue
	f=$(basename "$d")
	case " $ORDER " in
	*" $f "*) ;;
	*)
		echo "src/$f: folder not in the layer order; add it to ORDER in scripts/check-layers.sh (lowest first: $ORDER)"
		bad=1
		;;
	esac
done
for f in src/*.[ch]; do
	[ -f "$f" ] || continue
	echo "$f: a file outside any layer folder; move it into one of: $ORDER"
	bad=1
done

# file:line:path of every quoted include under src/ and tools/, checked
find src tools -type f -name '*.[ch]' | sort |
	xargs grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' /dev/null |
	sed 's/^\([^:]*\):\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2:\3/' |
	awk -F: -v order="$ORDER" '
BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
{
	file = $1; line = $2; inc = $3
	split(file, fp, "/")
	top = fp[1]             # src or tools
	from = fp[2]            # the including folder (src/FROM/...)
	if (index(inc, "/") == 0) {
		if (top == "src") next  # beside the file: its own folder
		to = ""
	} else {
		split(inc, ip, "/")
		to = ip[1]
	}
	if (to == "" || !(to in rank)) {
		if (!((top SUBSEP to) in told)) {
			printf "%s:%s: includes %s from a folder not in the layer order; add it to ORDER in scripts/check-layers.sh\n", file, line, inc
			told[top SUBSEP to] = 1
		}
		bad = 1
		next
	}
	if (top == "tools" || !(from in rank))
		next
	if (rank[to] > rank[from]) {
		printf "%s:%s: %s may not include %s\n", file, line, from, inc
		bad = 1
	}
}
END { exit bad }
' || bad=1
exit $bad
