#!/bin/sh
# members.sh - damaged superblocks and bad mountpoints (issue 12, items 8
# and 10): a zeroed or random primary superblock is recovered from the
# intact replica by the daemon (which says so) and by swapfsck (-n exit 4,
# -p and -y exit 1, then -n exit 0); a mount over a regular file is refused
# before anything is written to the members.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
FSCK=$builddir/tools/swapfsck
make_images 4 40M
format
mount_fs
echo keep > "$MNT/important" || fail "write"
umount_fs

# ---- a mountpoint that is not a directory: refused, nothing written -----
sum=$(cat "$T"/m*.img | md5sum)
touch "$T/file"
"$SWAPFS" "$DEVS" "$T/file" >"$T/out" 2>&1; rc=$?	# no -f: returns once mounted
grep -q " $T/file " /proc/mounts && { umount "$T/file"; sleep 1; fail "mounted over a regular file"; }
[ $rc -ne 0 ] || fail "mount over a regular file exited 0"
grep -q "not a directory" "$T/out" || fail "mount over a regular file: message: $(cat "$T/out")"
"$SWAPFS" "$DEVS" "$T/none" >"$T/out" 2>&1 && fail "mount on a missing mountpoint exited 0"
grep -q "$T/none" "$T/out" || fail "missing mountpoint: message: $(cat "$T/out")"
[ "$(cat "$T"/m*.img | md5sum)" = "$sum" ] || fail "a refused mount wrote to the members"

# ---- a damaged primary superblock: zeroed, then random bytes ------------
for damage in zero random; do
	if [ $damage = zero ]; then
		dd if=/dev/zero of="$T/m0.img" bs=4096 count=1 conv=notrunc status=none || fail "dd"
	else
		head -c 4096 /dev/urandom > "$T/rnd" && dd if="$T/rnd" of="$T/m0.img" bs=4096 count=1 \
			conv=notrunc status=none || fail "dd"
	fi
	# the daemon mounts from the replica and says so
	: > "$T/daemon.log"
	mount_fs -o ro
	[ "$(cat "$MNT/important")" = keep ] || fail "$damage: file after mounting from the replica"
	umount_fs
	grep -q "replica" "$T/daemon.log" || fail "$damage: the daemon did not say it used the replica"
	# swapfsck: -n reports it (exit 4) and changes nothing
	sum=$(cat "$T"/m*.img | md5sum)
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 4 ] || { cat "$T/out"; fail "$damage: swapfsck -n exit $rc, want 4"; }
	grep -q "primary superblock is damaged" "$T/out" || fail "$damage: -n message: $(cat "$T/out")"
	[ "$(cat "$T"/m*.img | md5sum)" = "$sum" ] || fail "$damage: swapfsck -n wrote"
	# -p (first round) or -y (second) rewrites it from the replica: exit 1, then clean
	mode=-p; [ $damage = zero ] || mode=-y
	"$FSCK" $mode "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 1 ] || { cat "$T/out"; fail "$damage: swapfsck $mode exit $rc, want 1"; }
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "$damage: not clean after $mode"; }
	: > "$T/daemon.log"
	mount_fs
	[ "$(cat "$MNT/important")" = keep ] || fail "$damage: file after the repair"
	umount_fs
	grep -q "replica" "$T/daemon.log" && fail "$damage: replica still used after the repair"
done

# member 0's primary damaged and its replica from another volume: member 0 is named, not member 1
cp "$T/m0.img" "$T/m0.save" || fail "cp"
truncate -s 40M "$T/other.img" && "$MKSWAPFS" -q "$T/other.img" || fail "mkswapfs other"
dd if=/dev/zero of="$T/m0.img" bs=4096 count=1 conv=notrunc status=none || fail "dd"
dd if="$T/other.img" of="$T/m0.img" bs=4096 count=1 skip=16 seek=16 conv=notrunc status=none || fail "dd"
"$FSCK" -n "$DEVS" >"$T/out" 2>&1; rc=$?
[ $rc -eq 8 ] || { cat "$T/out"; fail "foreign replica: swapfsck -n exit $rc, want 8"; }
grep -q "m0.img.*replica" "$T/out" || fail "foreign replica: swapfsck: message: $(cat "$T/out")"
"$SWAPFS" "$DEVS" "$MNT" >"$T/out" 2>&1 && { umount "$MNT"; fail "foreign replica: mounted"; }
grep -q "m0.img.*replica" "$T/out" || fail "foreign replica: swapfs: message: $(cat "$T/out")"
mv "$T/m0.save" "$T/m0.img" || fail "mv"
rm -f "$T/other.img"

# a truncated member (a careless cp, a full disk): refused with its name, for any size
cp "$T/m2.img" "$T/m2.save" || fail "cp"
for size in 8K 1000 0; do	# shrinking only: the superblock stays for 8K
	truncate -s $size "$T/m2.img" || fail "truncate"
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 8 ] || { cat "$T/out"; fail "member truncated to $size: swapfsck -n exit $rc, want 8"; }
	grep -q "m2.img.*smaller than when it was formatted\|m2.img.*too small" "$T/out" ||
		fail "member truncated to $size: swapfsck: message does not name it: $(cat "$T/out")"
	"$SWAPFS" "$DEVS" "$MNT" >"$T/out" 2>&1 && { umount "$MNT"; fail "member truncated to $size: mounted"; }
	grep -q "m2.img.*smaller than when it was formatted\|m2.img.*too small" "$T/out" ||
		fail "member truncated to $size: swapfs: message does not name it: $(cat "$T/out")"
	"$MKSWAPFS" -q -f $(echo "$DEVS" | tr ':' ' ') >"$T/out" 2>&1 && fail "mkswapfs on a $size member"
	grep -q "m2.img.*too small" "$T/out" ||
		fail "member of $size bytes: mkswapfs: message does not name it: $(cat "$T/out")"
done
mv "$T/m2.save" "$T/m2.img" || fail "mv"

# both copies gone: an operational error that names the member, not a silent success
dd if=/dev/zero of="$T/m1.img" bs=4096 count=1 conv=notrunc status=none || fail "dd"
dd if=/dev/zero of="$T/m1.img" bs=4096 count=1 seek=16 conv=notrunc status=none || fail "dd"
"$FSCK" -n "$DEVS" >"$T/out" 2>&1; rc=$?
[ $rc -eq 8 ] || { cat "$T/out"; fail "both superblocks zeroed: swapfsck -n exit $rc, want 8"; }
grep -q "m1.img: no swapfs superblock" "$T/out" || fail "both zeroed: message: $(cat "$T/out")"
echo "1 passed, 0 failed"
