#!/bin/sh
# swapbench_raw.sh - swapbench raw over small image files: text and JSON output, usage errors.
set -u
bin=${SWAPBENCH:-./tools/swapbench}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/swapbench-test.XXXXXX") || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for i in 0 1 2 3; do truncate -s 40M "$dir/d$i.img" || exit 99; done
devs="$dir/d0.img:$dir/d1.img:$dir/d2.img:$dir/d3.img"

out=$("$bin" raw --devices "$devs" --size 64M --qd 8) || fail "raw run: $out"
echo "$out" | grep -q "engine write .* MiB/s" || fail "no write figure: $out"
echo "$out" | grep -q "engine read .* MiB/s" || fail "no read figure: $out"

json=$("$bin" raw -d "$devs" -s 32M -b 256k -t 2 -r 2 --json --no-warmup) || fail "json run"
echo "$json" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["mode"] == "raw" and len(j["devices"]) == 4, j
assert j["bytes"] == 32 << 20 and j["block"] == 256 << 10 and j["threads"] == 2, j
for k in ("engine_write", "engine_read"):
    assert 0 < j[k]["min_mib_s"] <= j[k]["median_mib_s"] <= j[k]["max_mib_s"], j
' || fail "bad JSON: $json"

if command -v fio >/dev/null 2>&1; then
	out=$("$bin" raw -d "$devs" -s 32M --compare-fio) || fail "compare-fio: $out"
	echo "$out" | grep -q "engine/fio" || fail "no ratio: $out"
fi

# usage errors exit 2 with a message naming the problem; runtime errors exit 1
"$bin" raw --devices "$devs" --block 3x >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad block accepted"
"$bin" raw --devices "a::b" >/dev/null 2>&1; [ $? -eq 2 ] || fail "empty member accepted"
"$bin" raw >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing --devices accepted"
"$bin" bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown mode accepted"
msg=$("$bin" raw --devices "$dir/missing.img" 2>&1); [ $? -eq 1 ] || fail "missing member accepted"
echo "$msg" | grep -q "missing.img" || fail "message does not name the member: $msg"
"$bin" --help | grep -q "Usage: swapbench raw" || fail "--help"
echo "1 passed, 0 failed"
