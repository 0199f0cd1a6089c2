#!/bin/sh
# transport.sh - each FUSE transport: classic /dev/fuse (-o nouring) and
# FUSE-over-io_uring (-o uring; skipped where the kernel lacks it, and the
# fuse module's enable_uring is put back as it was).  For each: the
# transport the stats report, files written and read back by processes
# pinned to different CPUs (4 MiB direct and 4 KiB buffered I/O), a shared
# mmap, then kill -9, swapfsck and a remount that finds every file intact.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
command -v taskset >/dev/null || skip "no taskset"
command -v getfattr >/dev/null || skip "no getfattr (package attr)"
unset SWAPFS_TEST_OPTS	# this test picks the transport itself
URING=/sys/module/fuse/parameters/enable_uring
uring_was=

make_images 2 256M 256M
restore() {
	[ -z "$uring_was" ] || echo "$uring_was" > "$URING"
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
	grep -q "transport: $want" "$T/daemon.log" || fail "-o $mode: no 'transport: $want' in the log"
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

run nouring
if [ -w "$URING" ]; then
	uring_was=$(cat "$URING")
	run uring
	echo "2 passed, 0 failed"
else
	echo "SKIP: io_uring: no $URING (kernel without CONFIG_FUSE_IO_URING)"
	echo "1 passed, 0 failed"
fi
