#!/bin/sh
# transport.sh - each FUSE transport: classic /dev/fuse (-o nouring) and
# FUSE-over-io_uring (-o uring; skipped where the kernel lacks it, and the
# fuse module's enable_uring is put back as it was).  For each: the
# transport the stats report, files written and read back by processes
# pinned to different CPUs (4 MiB direct and 4 KiB buffered I/O), a shared
# mmap, then kill -9, swapfsck and a remount that finds every file intact.
# Then -o max_pages=1024: 4 MiB requests (the kernel's max_pages_limit is
# raised by the daemon and put back after).
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
command -v taskset >/dev/null || skip "no taskset"
command -v getfattr >/dev/null || skip "no getfattr (package attr)"
unset SWAPFS_TEST_OPTS	# this test picks the transport itself
URING=/sys/module/fuse/parameters/enable_uring
PAGES=/proc/sys/fs/fuse/max_pages_limit
uring_was=
pages_was=

make_images 2 256M 256M
restore() {
	[ -z "$uring_was" ] || echo "$uring_was" > "$URING"
	[ -z "$pages_was" ] || echo "$pages_was" > "$PAGES"
	cleanup
}
trap restore EXIT
format
head -c $((24 << 20)) /dev/urandom > "$T/src" || exit 99
cpus=$(nproc)
second=$((cpus > 1 ? 1 : 0))

transport() {
	getfattr -n swapfs.stats --only-values "$MNT" 2>/dev/null |
		$PY -c 'import json, sys; print(json.load(sys.stdin)["transport"])'
}

# logged TEXT: the daemon logs TEXT (its transport line follows the INIT reply)
logged() {
	for _ in $(seq 100); do
		grep -q "$1" "$T/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}

# worker CPU NAME: write NAME.big (direct, 4 MiB) and NAME.small (4 KiB) from CPU, read both back
worker() {
	taskset -c "$1" sh -c '
		dd if="$1" of="$2.big" bs=4M oflag=direct status=none &&
		dd if="$1" of="$2.small" bs=4k status=none conv=fsync &&
		dd if="$2.big" bs=4M iflag=direct status=none | cmp -s - "$1" &&
		dd if="$2.small" bs=4k status=none | cmp -s - "$1"' sh "$T/src" "$MNT/$2"
}

# mmap_check FILE: write a pattern through a shared mapping, read it back with read(2)
mmap_check() {
	$PY - "$1" <<'EOF'
import mmap, os, sys
path, size = sys.argv[1], 8 << 20
pat = bytes(range(251)) * (size // 251 + 1)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, size)
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[:] = pat[:size]
m.flush()
m.close()
assert os.pread(fd, size, 0) == pat[:size], "mmap writes not read back"
os.fsync(fd)
os.close(fd)
EOF
}

# verify NAME...: every file written by the workers matches the source
verify() {
	for n in "$@"; do
		cmp -s "$T/src" "$MNT/$n.big" || fail "$mode: $n.big differs"
		cmp -s "$T/src" "$MNT/$n.small" || fail "$mode: $n.small differs"
	done
	$PY -c 'import sys
d = open(sys.argv[1], "rb").read()
assert d == (bytes(range(251)) * (len(d) // 251 + 1))[:len(d)] and len(d) == 8 << 20' \
		"$MNT/$mode.map" || fail "$mode: the mmapped file differs"
}

run() {
	mode=$1
	mount_fs -o "$mode"
	want=classic
	[ "$mode" = uring ] && want=io_uring
	got=$(transport)
	[ "$got" = "$want" ] || fail "-o $mode: the stats say transport '$got'"
	logged "transport: $want" || fail "-o $mode: no 'transport: $want' in the log"
	worker 0 "$mode.a" & a=$!
	worker "$second" "$mode.b" & b=$!
	wait $a || fail "$mode: the worker on CPU 0"
	wait $b || fail "$mode: the worker on CPU $second"
	mmap_check "$MNT/$mode.map" || fail "$mode: mmap"
	verify "$mode.a" "$mode.b"
	crash_fs
	"$builddir/tools/swapfsck" -p "$DEVS" > "$T/fsck.out"; rc=$?
	[ $rc -le 1 ] || { cat "$T/fsck.out"; fail "$mode: swapfsck -p after kill -9: exit $rc"; }
	"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "$mode: not clean"; }
	mount_fs -o "$mode"
	[ "$(transport)" = "$want" ] || fail "-o $mode: another transport after the remount"
	verify "$mode.a" "$mode.b"
	umount_fs
	echo "$mode: ok"
}

passed=0
run nouring
passed=$((passed + 1))
if [ -w "$URING" ]; then
	uring_was=$(cat "$URING")
	run uring
	passed=$((passed + 1))
else
	echo "SKIP: io_uring: no $URING (kernel without CONFIG_FUSE_IO_URING)"
fi
if [ -w "$PAGES" ]; then
	pages_was=$(cat "$PAGES")
	mount_fs -o nouring,max_pages=1024
	grep " $MNT " /proc/mounts | grep -q "max_read=4194304" || fail "max_pages=1024: no max_read=4194304"
	logged "requests up to 4096 KiB" || fail "max_pages=1024: not in the log"
	dd if="$T/src" of="$MNT/pages" bs=8M oflag=direct status=none || fail "max_pages: write"
	dd if="$MNT/pages" bs=8M iflag=direct status=none | cmp -s - "$T/src" || fail "max_pages: read back"
	umount_fs
	echo "max_pages: ok"
	passed=$((passed + 1))
else
	echo "SKIP: max_pages: no $PAGES"
fi
echo "$passed passed, 0 failed"
