#!/bin/sh
# crash_rounds.sh - many crash rounds of the tensor workload (issue 17): a
# writer creates tensor files of random sizes, fsyncs each, and renames
# fsynced new versions over old names; the daemon is killed with kill -9
# after a random delay (milliseconds to seconds: inside commits, checkpoints
# and renames); the dead mount is released; `swapfsck -n` must find the
# members clean right away; then mount, every fsynced file must be intact.
# CRASH_ROUNDS rounds (default 6; tests/stress.sh runs 40 * STRESS_SCALE),
# CRASH_SEED picks the delays, CRASH_SIZE the size of the 4 members (128M).  swapfsck's output of a failing round is kept
# in the test's folder and printed; CRASH_KEEP_GOING=1 runs every round and
# fails at the end, CRASH_KEEP=DIR also copies the failing members there
# (and, after a failed verify, the members, the state and the daemon's log
# of all the test's mounts).
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
rounds=${CRASH_ROUNDS:-6}
seed=${CRASH_SEED:-$$}
size=${CRASH_SIZE:-128M}
make_images 4 "$size" "$size" "$size" "$size"
format
state=$T/state
: > "$state"
failed=0
recovered=0
FSCK=$builddir/tools/swapfsck
# check_clean WHAT [leftover]: swapfsck -n right after a crash must exit 0;
# with "leftover" it must also say that the next mount completes recovery
check_clean() {
	"$FSCK" -n "$DEVS" > "$T/fsck.out" 2>&1; rc=$?
	[ $rc -eq 0 ] || { cat "$T/fsck.out"; fail "$1: swapfsck -n exit $rc, want 0"; }
	if [ "${2:-}" = leftover ]; then
		grep -q "recovery after a crash" "$T/fsck.out" || { cat "$T/fsck.out"; fail "$1: no crash leftover reported"; }
		grep "^0x" "$T/fsck.out"
	elif grep -q "^0x" "$T/fsck.out"; then
		cat "$T/fsck.out"; fail "$1: swapfsck -n reports something"
	fi
	echo "$1: swapfsck -n exit 0"
}
meta_grep() {	# meta_grep MEMBER STRING: STRING in the member's metadata log
	$PY - "$T/m$1.img" "$2" <<'PYEOF'
import struct, sys
f = open(sys.argv[1], "rb")
off, size = struct.unpack_from("<QQ", f.read(4096), 112)
f.seek(off)
sys.exit(0 if sys.argv[2].encode() in f.read(size) else 1)
PYEOF
}
ckpt_gen() {	# newest checkpoint generation on member $1
	$PY - "$T/m$1.img" <<'PYEOF'
import struct, sys
f = open(sys.argv[1], "rb")
sb = f.read(4096)
off, _, size = struct.unpack_from("<QQQ", sb, 88)
gens = []
for slot in (0, 1):
    f.seek(off + slot * size)
    h = f.read(64)
    if h[:8] == b"SWCKPT01":
        gens.append(struct.unpack_from("<I", h, 8)[0])
print(max(gens, default=-1))
PYEOF
}
# Deterministic crash points first.  Member 1 holds the second metadata
# mirror; SWAPFS_FAULTS delays every write to it by 30 s, so a commit or a
# checkpoint has reached mirror 0 only when the daemon is killed.
# 1. a commit interrupted between the mirrors
export SWAPFS_FAULTS="1:w:1:0:0:30000000"
mount_fs
unset SWAPFS_FAULTS
$PY -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY))' "$MNT/probe-commit" 2>/dev/null &
probe=$!
for _ in $(seq 400); do meta_grep 0 probe-commit && break; sleep 0.05; done
meta_grep 0 probe-commit || fail "the commit did not reach mirror 0"
meta_grep 1 probe-commit && fail "the commit reached mirror 1 despite the delay"
kill -9 "$DAEMON_PID"; kill "$probe" 2>/dev/null; wait "$probe" 2>/dev/null
crash_fs
check_clean "commit on one mirror" leftover
mount_fs
[ -e "$MNT/probe-commit" ] || fail "replay did not take the longer log"
umount_fs
check_clean "after its recovery"
# 2. older log records behind the valid log: a commit of one record over
# many blocks (a 60,000-byte xattr), a new generation (unmount), a commit
# of one block, crash: the next block starts inside the older record
mount_fs
: > "$MNT/big" || fail "create"
umount_fs
mount_fs
$PY -c 'import os, sys; os.setxattr(sys.argv[1], "user.big", b"Z" * 60000)
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$MNT/big" || fail "setxattr"
umount_fs
mount_fs
mkdir "$MNT/one" && $PY -c 'import os, sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))' "$MNT" ||
	fail "mkdir + fsync"
crash_fs
check_clean "a short commit over an older long one"
# 3. an open file unlinked (an orphan)
mount_fs
$PY -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR); os.write(fd, b"x" * 100000); os.unlink(sys.argv[1])
os.fsync(fd); open(sys.argv[2], "w").close(); time.sleep(600)' "$MNT/orphan" "$T/orphan.ready" &
holder=$!
for _ in $(seq 400); do [ -e "$T/orphan.ready" ] && break; sleep 0.05; done
[ -e "$T/orphan.ready" ] || fail "the orphan holder did not start"
kill -9 "$DAEMON_PID"; kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
crash_fs
check_clean "an orphan" leftover
mount_fs
umount_fs
check_clean "after its recovery"
# 4. the unmount's checkpoint interrupted between the mirrors
export SWAPFS_FAULTS="1:w:1:0:0:30000000"
mount_fs
unset SWAPFS_FAULTS
g=$(ckpt_gen 0)
umount "$MNT" || fail "umount"
for _ in $(seq 400); do [ "$(ckpt_gen 0)" -gt "$g" ] && break; sleep 0.05; done
[ "$(ckpt_gen 0)" -gt "$g" ] || fail "the checkpoint did not reach mirror 0"
[ "$(ckpt_gen 1)" -gt "$g" ] && fail "the checkpoint reached mirror 1 despite the delay"
crash_fs
check_clean "checkpoint on one mirror" leftover
mount_fs	# must give mirror 1 the checkpoint again: it is killed before any other
crash_fs
check_clean "after a mount that repaired it"
# delay of round r in seconds: a third each up to 50 ms, 0.5 s and 3 s
delay() {
	awk -v s="$seed" -v r="$1" 'BEGIN { srand(s * 1000 + r); k = rand(); x = rand();
		if (k < 1 / 3) d = 0.001 + x * 0.049; else if (k < 2 / 3) d = 0.05 + x * 0.45;
		else d = 0.5 + x * 2.5; printf "%.3f\n", d }'
}
r=1
while [ "$r" -le "$rounds" ]; do
	mount_fs
	$PY "$(dirname "$0")/crash_rounds.py" "$MNT" "$state" write $r 2>/dev/null &
	writer=$!
	d=$(delay $r)
	sleep "$d"
	kill -9 "$DAEMON_PID"
	kill "$writer" 2>/dev/null	# before the dead mount is detached: it must not write below it
	wait "$writer" 2>/dev/null
	crash_fs
	"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.$r.out" 2>&1; rc=$?
	if [ $rc -ne 0 ]; then
		echo "round $r (kill after ${d}s, seed $seed): swapfsck -n exit $rc"
		cat "$T/fsck.$r.out"
		failed=$((failed + 1))
		if [ -n "${CRASH_KEEP:-}" ]; then
			mkdir -p "$CRASH_KEEP/round$r" && cp --sparse=always "$T"/m*.img "$T/fsck.$r.out" \
				"$CRASH_KEEP/round$r/"
		fi
		[ -n "${CRASH_KEEP_GOING:-}" ] || fail "swapfsck -n not clean after crash $r"
	elif grep -q "recovery after a crash" "$T/fsck.$r.out"; then
		recovered=$((recovered + 1))
	fi
	mount_fs
	if ! $PY "$(dirname "$0")/crash_rounds.py" "$MNT" "$state" verify > "$T/verify.out"; then
		cat "$T/verify.out"
		if [ -n "${CRASH_KEEP:-}" ]; then	# the members as the crash left them, bar the mount's repairs
			crash_fs
			mkdir -p "$CRASH_KEEP/verify$r" && cp --sparse=always "$T"/m*.img "$state" \
				"$T/daemon.log" "$CRASH_KEEP/verify$r/"
		fi
		fail "after crash $r (kill after ${d}s, seed $seed)"
	fi
	umount_fs
	r=$((r + 1))
done
[ ! -s "$T/verify.out" ] || tail -1 "$T/verify.out"
[ $failed -eq 0 ] || fail "$failed of $rounds rounds not clean (seed $seed)"
echo "$rounds crash rounds clean (seed $seed; after $recovered of them swapfsck -n listed recovery for the next mount)"
echo "1 passed, 0 failed"
