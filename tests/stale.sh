#!/bin/sh
# stale.sh - a stale member (an older copy of one member, restored over it)
# is refused with its name by the daemon (read-write and read-only) and
# reported by swapfsck (-n exit 4; -y and -p refuse to "repair" it, exit 4),
# instead of mounting and serving that member's old bytes (hostile-test
# round on the issue 12 fixes).  Normal mount cycles and an interrupted
# mount-counter update (emulated: some superblocks already carry the new
# counter, the metadata the old one; then a real kill -9 during it, with
# SWAPFS_OPEN_FAULTS delaying a member's writes) still mount.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
FSCK=$builddir/tools/swapfsck
make_images 4 40M
format
sums() { (cd "$MNT" && md5sum a b) > "$T/sums" || fail "md5sum"; }
check_sums() { (cd "$MNT" && md5sum -c --quiet "$T/sums") || fail "$1: files differ"; }
# not_stale WHAT: after a counter update cut short (WHAT), swapfsck -n's
# report in $T/out calls no member stale, the files mount unchanged, and
# that mount leaves the members clean
not_stale() {
	grep -q "older" "$T/out" && fail "$1: swapfsck calls a member stale: $(cat "$T/out")"
	mount_fs
	check_sums "after $1"
	umount_fs
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "after $1, its mount: swapfsck -n"; }
	grep -q "^0x" "$T/out" && fail "after $1, its mount: swapfsck reports: $(cat "$T/out")"
}
# refused WHAT MEMBER...: swapfsck -n exit 4, -y and -p exit 4 writing nothing,
# the daemon refuses read-write and read-only; every message names MEMBER(s)
refused() {
	what=$1; shift
	sum=$(cat "$T"/m*.img | md5sum)
	for mode in -n -y -p; do
		"$FSCK" $mode "$DEVS" >"$T/out" 2>&1; rc=$?
		[ $rc -eq 4 ] || { cat "$T/out"; fail "$what: swapfsck $mode exit $rc, want 4"; }
		for m in "$@"; do
			grep -q "member $m (.*m$m.img).*older" "$T/out" ||
				fail "$what: swapfsck $mode does not name member $m: $(cat "$T/out")"
		done
		[ "$(cat "$T"/m*.img | md5sum)" = "$sum" ] || fail "$what: swapfsck $mode wrote"
	done
	for ro in "" "-o ro"; do
		"$SWAPFS" $ro "$DEVS" "$MNT" >"$T/out" 2>&1 && { umount "$MNT"; fail "$what: mounted ($ro)"; }
		grep -q "member $1 (.*m$1.img) is older than the others" "$T/out" ||
			fail "$what: swapfs $ro: message does not name member $1: $(cat "$T/out")"
	done
	[ "$(cat "$T"/m*.img | md5sum)" = "$sum" ] || fail "$what: a refused mount wrote"
}

mount_fs
dd if=/dev/urandom of="$MNT/a" bs=1M count=8 status=none || fail "dd a"
umount_fs
for i in 1 2; do cp "$T/m$i.img" "$T/m$i.old" || fail "cp"; done
mount_fs
dd if=/dev/urandom of="$MNT/a" bs=1M count=8 conv=notrunc status=none || fail "dd a again"
dd if=/dev/urandom of="$MNT/b" bs=1M count=8 status=none || fail "dd b"
sums
umount_fs
for i in 1 2; do cp "$T/m$i.img" "$T/m$i.new" || fail "cp"; done

# member 2 (data only) restored from its older copy
cp "$T/m2.old" "$T/m2.img" || fail "cp"
refused "stale member 2" 2
# members 1 (a metadata mirror) and 2 both older
cp "$T/m1.old" "$T/m1.img" || fail "cp"
refused "stale members 1 and 2" 1 2
# member 1 alone older
cp "$T/m2.new" "$T/m2.img" || fail "cp"
refused "stale member 1" 1
# the current copies back: mounts, files intact, swapfsck clean
cp "$T/m1.new" "$T/m1.img" || fail "cp"
"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "swapfsck -n after restoring the members"; }
mount_fs -o ro
check_sums "read-only mount"
umount_fs

# every read-write mount advances the counter: a copy from one mount ago is stale
cp "$T/m3.img" "$T/m3.old" || fail "cp"
mount_fs
check_sums "mount 3"
umount_fs
for i in 0 1 2 3; do cp "$T/m$i.img" "$T/s$i.save" || fail "cp"; done
cp "$T/m3.old" "$T/m3.img" || fail "cp"
refused "stale member 3 (no data written since)" 3
cp "$T/s3.save" "$T/m3.img" || fail "cp"

# members 0 and 1 (both metadata mirrors) restored from a copy two mounts
# old: the metadata itself is stale, the newer data members say so
for i in 0 1; do cp "$T/m$i.img" "$T/m$i.old" || fail "cp"; done
mount_fs
umount_fs
mount_fs
umount_fs
for i in 0 1; do cp "$T/m$i.img" "$T/m$i.new" && cp "$T/m$i.old" "$T/m$i.img" || fail "cp"; done
refused "stale metadata members 0 and 1" 0 1
for i in 0 1; do cp "$T/m$i.new" "$T/m$i.img" || fail "cp"; done

# an interrupted counter update (kill -9 during the mount's superblock
# writes), emulated: the superblocks of members 0 and 1 (primary and
# replica) and the replica of member 2 from the next mount, the rest as
# before it.  It mounts, swapfsck -n exit 0
for i in 0 1 2 3; do cp "$T/m$i.img" "$T/s$i.save" || fail "cp"; done
mount_fs
umount_fs
for i in 0 1; do
	dd if="$T/m$i.img" of="$T/s$i.save" bs=4096 count=1 conv=notrunc status=none &&
	dd if="$T/m$i.img" of="$T/s$i.save" bs=4096 count=1 skip=16 seek=16 conv=notrunc status=none ||
		fail "dd"
done
dd if="$T/m2.img" of="$T/s2.save" bs=4096 count=1 skip=16 seek=16 conv=notrunc status=none || fail "dd"
for i in 0 1 2 3; do mv "$T/s$i.save" "$T/m$i.img" || fail "mv"; done
"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "interrupted update: swapfsck -n"; }
not_stale "an interrupted counter update"

# a real kill -9 during the counter update: every write to member 2 after
# its first (the replica of its superblock) waits 30 s, and the daemon is
# killed while the primary's waits
sb_seq() {	# sb_seq MEMBER OFFSET: the mount counter of that superblock copy
	$PY -c 'import struct, sys
f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2])); print(struct.unpack_from("<Q", f.read(4096), 1232)[0])' \
		"$T/m$1.img" "$2"
}
before=$(sb_seq 2 0)
SWAPFS_OPEN_FAULTS="2:w:2:0:0:30000000" "$SWAPFS" -f "$DEVS" "$MNT" 2>>"$T/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 400); do [ "$(sb_seq 2 65536)" -gt "$before" ] && break; sleep 0.05; done
[ "$(sb_seq 2 65536)" -gt "$before" ] || fail "the counter update did not reach member 2's replica"
[ "$(sb_seq 2 0)" -eq "$before" ] || fail "the primary of member 2 was written despite the delay"
[ "$(sb_seq 3 0)" -eq "$before" ] || fail "member 3 was written before member 2"
grep -q " $MNT " /proc/mounts && fail "mounted before the counter update was done"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "killed during the update: swapfsck -n"; }
grep -q "recovery after a crash" "$T/out" || fail "killed during the update: no leftover reported: $(cat "$T/out")"
not_stale "a kill -9 during the counter update"
echo "1 passed, 0 failed"
