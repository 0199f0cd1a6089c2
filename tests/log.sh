#!/bin/sh
# log.sh - the daemon's log: a background mount (no -f) with -o log=FILE
# writes its messages to FILE, one time-stamped line each with its level
# (a member's I/O error, the notice of freed orphans); -o log_level= hides
# the less severe ones; a bad level or a log file that cannot be opened is
# refused before anything is mounted.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
CORRUPT=$builddir/tests/fsck_corrupt
STAMP='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{6\}Z swapfs\[[0-9]*\]'

# The pid of the daemon serving $MNT (the only process with $MNT as an argument).
daemon_of_mnt() {
	for p in /proc/[0-9]*; do
		{ tr '\0' '\n' < "$p/cmdline"; } 2>/dev/null | grep -qxF "$MNT" && { echo "${p#/proc/}"; return; }
	done
}

# bg_mount [OPTIONS...]: swapfs without -f returns once the mount is ready
bg_mount() {
	"$SWAPFS" "$@" "$DEVS" "$MNT" 2>>"$T/daemon.log" || fail "background mount: exit $?"
	grep -q " $MNT " /proc/mounts || fail "swapfs returned 0 without a mount"
	DAEMON_PID=$(daemon_of_mnt)	# cleanup ends it if the test fails
	[ -n "$DAEMON_PID" ] || fail "no daemon serves $MNT"
}

# bg_umount: unmount and wait until the daemon (not our child) has exited
bg_umount() {
	umount "$MNT" || fail "umount"
	for _ in $(seq 1200); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$DAEMON_PID" 2>/dev/null && fail "the daemon did not exit after the unmount"
	DAEMON_PID=
}

make_images 2 64M 64M
format
"$CORRUPT" "$DEVS" orphan || fail "orphan"
# a second copy of the volume, orphan included
DEVS_A=$DEVS
DEVS_B=$T/b0.img:$T/b1.img
cp --sparse=always "$T/m0.img" "$T/b0.img" && cp --sparse=always "$T/m1.img" "$T/b1.img" ||
	exit 99

# refused at startup, nothing mounted
"$SWAPFS" -o log_level=loud "$DEVS" "$MNT" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] || fail "-o log_level=loud: exit $rc, want 2"
grep -q "log_level=loud" "$T/err" || fail "no message for the bad level: $(cat "$T/err")"
"$SWAPFS" -o log="$T/none/swapfs.log" "$DEVS" "$MNT" 2>"$T/err" && fail "an unopenable log file was accepted"
grep -q "none/swapfs.log: cannot open: No such file or directory" "$T/err" ||
	fail "no message for the log file: $(cat "$T/err")"
grep -q " $MNT " /proc/mounts && fail "mounted in spite of a refused option"

# volume A at level warning: the orphan is freed without a word
bg_mount -o log="$T/a.log",log_level=warning
dd if=/dev/urandom of="$MNT/big" bs=1M count=8 status=none || fail "write"
bg_umount
grep -q "orphan" "$T/a.log" && fail "a notice passed -o log_level=warning: $(cat "$T/a.log")"

# volume A again, default level, reads on member 1 failing: the error is in the file
SWAPFS_FAULTS="1:r:1:0:5" bg_mount -o log="$T/a.log"
cat "$MNT/big" >/dev/null 2>"$T/err" && fail "read through a failing member succeeded"
grep -q "Input/output error" "$T/err" || fail "no EIO: $(cat "$T/err")"
bg_umount
grep -q "^$STAMP err: .*member 1 ($T/m1.img) at offset [0-9]*: Input/output error\$" "$T/a.log" ||
	fail "the I/O error is not in the log file: $(cat "$T/a.log")"

# volume B, default level (notice in the background): the orphan's notice
DEVS=$DEVS_B
bg_mount -o log="$T/b.log"
bg_umount
DEVS=$DEVS_A
grep -q "^$STAMP notice: freed 1 orphaned inode(s) left by an unclean shutdown\$" "$T/b.log" ||
	fail "the notice is not in the log file: $(cat "$T/b.log")"
exit 0
