#!/bin/sh
# crash.sh - kill -9 the daemon in the middle of writes, renames and
# truncates, remount, and check that everything fsynced or closed is intact,
# renames are atomic and no file shows bytes it was not given.
# CRASH_ROUNDS (default 3) crash points.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
rounds=${CRASH_ROUNDS:-3}
# each round keeps ~60 MiB of files: grow the (sparse) members with the rounds
size=$((64 + 20 * rounds))M
make_images 4 $size $size $size $size
format
state=$T/state
: > "$state"
r=1
while [ $r -le "$rounds" ]; do
	mount_fs
	$PY "$(dirname "$0")/crash_io.py" "$MNT" "$state" durable $r || fail "durable writes, round $r"
	$PY "$(dirname "$0")/crash_io.py" "$MNT" "$state" churn $r 2>/dev/null &
	churn=$!
	sleep "0.$(( (r * 37) % 9 + 1 ))"
	kill -9 "$DAEMON_PID"
	kill "$churn" 2>/dev/null	# before the dead mount is detached: it must not write below it
	wait "$churn" 2>/dev/null
	crash_fs
	# what a crash leaves is only what -p may fix (torn log tail, orphans)
	"$builddir/tools/swapfsck" -p "$DEVS" > "$T/fsck.out"; rc=$?
	[ $rc -le 1 ] || { cat "$T/fsck.out"; fail "swapfsck -p after crash $r: exit $rc"; }
	"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "not clean after -p"; }
	mount_fs
	$PY "$(dirname "$0")/crash_io.py" "$MNT" "$state" verify || fail "after crash $r"
	umount_fs
	r=$((r + 1))
done
echo "$rounds crash points survived"
echo "1 passed, 0 failed"
