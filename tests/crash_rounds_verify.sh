#!/bin/sh
# crash_rounds_verify.sh - the model of tests/crash_rounds.py verify, on a
# plain folder standing for the mount after each crash (no FUSE needed).
# A rename the writer logged but no later fsync covered may be undone by
# the crash; the verify after that crash sees the name absent.  A sync the
# writer logs in a later round covers only what that round did: it must not
# make the undone rename "durable" (a LOST reported for a file that was
# never durable: CI's ASan+UBSan run of crash_rounds.sh, "LOST t21 (version
# 1.3 was durable)").  A real loss must still be reported.
set -u
. "$(dirname "$0")/lib.sh"
[ -x "$PY" ] || skip "no $PY"
T=$(mktemp -d "${TMPDIR:-/var/tmp}/swapfs-it.XXXXXX") || exit 99
trap cleanup EXIT
trap 'exit 1' INT TERM
dir=$T/fs
state=$T/state
mkdir "$dir"
: > "$state"
verify() {	# verify WHAT WANT: crash_rounds.py verify must exit WANT
	$PY "$(dirname "$0")/crash_rounds.py" "$dir" "$state" verify > "$T/verify.out" 2>&1; rc=$?
	cat "$T/verify.out"
	[ $rc -eq "$2" ] || fail "$1: verify exit $rc, want $2"
	echo "$1: verify exit $rc"
}
put() {		# put NAME SEED SIZE: the content crash_rounds.py writes for SEED, SIZE
	$PY -c 'import random, sys
open(sys.argv[1], "wb").write(random.Random(int(sys.argv[2])).randbytes(int(sys.argv[3])))' \
		"$dir/$1" "$2" "$3" || fail "put $1"
}
# round 1: t2 version 1.1 written and fsynced as a temporary, renamed over
# t2; the next step's fsync makes that rename durable.  Then t1 version 1.2
# likewise (t1 a new name), killed before any later fsync: the crash undid
# that rename, the temporary is left
echo sync >> "$state"
echo "ver t2 1.1 11 1000" >> "$state"
echo "ren t2 1.1" >> "$state"
put t2 11 1000
echo sync >> "$state"
echo "ver t1 1.2 12 2000" >> "$state"
echo "ren t1 1.2" >> "$state"
put t1.tmp1.2 12 2000
verify "round 1: t2 durable, t1's rename undone" 0
# round 2: the writer removes the leftover temporary, writes and fsyncs a file
rm "$dir/t1.tmp1.2"
echo sync >> "$state"
echo "file f2_1 21 3000" >> "$state"
put f2_1 21 3000
verify "round 2: a sync after the crash that undid t1's rename" 0
# round 3: t1 version 3.1 renamed over t1 and made durable by a later fsync;
# a crash that loses it, or t2, is a loss
echo sync >> "$state"
echo "ver t1 3.1 31 4000" >> "$state"
echo "ren t1 3.1" >> "$state"
echo sync >> "$state"
put t1 31 4000
verify "round 3: t1 version 3.1 durable and present" 0
mv "$dir/t1" "$T/t1.saved"
verify "t1 version 3.1 durable and gone" 1
grep -q "^LOST t1 (version 3.1 was durable)" "$T/verify.out" || fail "no LOST t1 reported"
mv "$T/t1.saved" "$dir/t1"
rm "$dir/t2"
verify "t2 version 1.1 durable and gone" 1
grep -q "^LOST t2 (version 1.1 was durable)" "$T/verify.out" || fail "no LOST t2 reported"
echo "1 passed, 0 failed"
