# lib.sh - shared helpers of the shell integration tests: image files,
# format, mount in the foreground (so the test knows the daemon's pid),
# and cleanup that always unmounts and ends only what the test started.
# Sourced by tests; expects $builddir (default .) and sets $T, $MNT, $DEVS.

builddir=${builddir:-.}
MKSWAPFS=$builddir/tools/mkswapfs
SWAPFS=$builddir/fs/daemon/swapfs
PY=/usr/bin/python3
T=
MNT=
DEVS=
DAEMON_PID=

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	[ -n "$T" ] && [ -s "$T/daemon.log" ] && { echo "--- daemon log"; cat "$T/daemon.log"; }
	exit 1
}

require_fuse() {
	[ "$(id -u)" = 0 ] || skip "needs root to mount FUSE"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "no fusermount3 (package fuse3)"
}

cleanup() {
	if [ -n "$MNT" ] && grep -q " $MNT " /proc/mounts; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$DAEMON_PID" 2>/dev/null
	fi
	[ -n "$T" ] && rm -rf "$T"
}

# make_images N SIZE...: N image files (sizes cycle through the list)
make_images() {
	n=$1; shift
	T=$(mktemp -d "${TMPDIR:-/var/tmp}/swapfs-it.XXXXXX") || exit 99
	MNT=$T/mnt
	mkdir "$MNT"
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	DEVS=
	set -- "$@"
	i=0
	while [ $i -lt "$n" ]; do
		size=$1; shift; set -- "$@" "$size"
		truncate -s "$size" "$T/m$i.img" || exit 99
		DEVS=${DEVS:+$DEVS:}$T/m$i.img
		i=$((i + 1))
	done
}

format() { "$MKSWAPFS" -q "$@" $(echo "$DEVS" | tr ':' ' ') || fail "mkswapfs"; }

# mount_fs [OPTIONS...]: start the daemon in the foreground, wait for the mount;
# SWAPFS_TEST_OPTS (e.g. "-o uring") goes to every mount, so the whole suite
# runs on either FUSE transport
mount_fs() {
	# shellcheck disable=SC2086
	"$SWAPFS" -f ${SWAPFS_TEST_OPTS:-} "$@" "$DEVS" "$MNT" 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		grep -q " $MNT " /proc/mounts && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/daemon.log"
	fail "mount did not come up"
}

# umount_fs: unmount and wait for the daemon to write its checkpoint and exit 0
umount_fs() {
	umount "$MNT" || fail "umount"
	wait "$DAEMON_PID"
	rc=$?
	DAEMON_PID=
	[ $rc -eq 0 ] || { cat "$T/daemon.log"; fail "daemon exited $rc"; }
}

# crash_fs: kill -9 the daemon and detach the dead mount
crash_fs() {
	stuck=
	kill -9 "$DAEMON_PID" 2>/dev/null
	# all its threads must go; one waiting on its own mount never would
	for _ in $(seq 100); do
		threads=$(awk '/^Threads:/ {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null)
		[ -z "$threads" ] || [ "$threads" -le 1 ] && break
		sleep 0.1
	done
	if [ -n "$threads" ] && [ "$threads" -gt 1 ]; then
		stuck=1
		abort_fuse "$MNT"	# let it go, then fail
	fi
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	[ -z "$stuck" ] || fail "the daemon could not exit after kill -9 (a thread waits on its own mount)"
}

# abort_fuse MNT: end the FUSE connection of MNT (fusectl), as an operator would
abort_fuse() {
	mounted_ctl=
	if ! grep -q " /sys/fs/fuse/connections " /proc/mounts; then
		mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null && mounted_ctl=1
	fi
	dev=$(awk -v m="$1" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
	[ -n "$dev" ] && echo 1 > "/sys/fs/fuse/connections/${dev#*:}/abort" 2>/dev/null
	[ -z "$mounted_ctl" ] || umount /sys/fs/fuse/connections	# leave no mount of ours behind
	return 0
}
