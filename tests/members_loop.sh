#!/bin/sh
# members_loop.sh - a member is recognised whatever path names it (issue
# 12, items 3 and 9): with the image files mounted, the same members
# through loop devices cannot be mounted, formatted (even with -f) or
# repaired, and the other way round; a read-only loop device is refused
# for a read-write mount, by mkswapfs and by swapfsck -y with a clear
# message, and mounts with -o ro.  Skips without loop devices; detaches
# every loop device it attached.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
command -v losetup >/dev/null || skip "no losetup"
FSCK=$builddir/tools/swapfsck
make_images 4 40M
format
MNT2=$T/mnt2
mkdir "$MNT2"
LOOPS=
D2=
loop_cleanup() {
	if grep -q " $MNT2 " /proc/mounts; then
		umount "$MNT2" 2>/dev/null || umount -l "$MNT2" 2>/dev/null
	fi
	if [ -n "$D2" ] && kill -0 "$D2" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$D2" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$D2" 2>/dev/null
	fi
	cleanup
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
}
trap loop_cleanup EXIT
# attach VAR [losetup options] FILE: a free loop device over FILE, into VAR
attach() {
	var=$1; shift
	dev=$(losetup -f --show "$@" 2>/dev/null) || skip "cannot attach a loop device"
	LOOPS="$LOOPS $dev"
	eval "$var=\$dev"
}
LDEVS=
RODEVS=
for i in 0 1 2 3; do
	attach l "$T/m$i.img"
	LDEVS=${LDEVS:+$LDEVS:}$l
	attach l -r "$T/m$i.img"
	RODEVS=${RODEVS:+$RODEVS:}$l
done
ldevs=$(echo "$LDEVS" | tr ':' ' ')
imgs=$(echo "$DEVS" | tr ':' ' ')

# mount2 WHAT SWAPFS-ARGS...: a second daemon (pid in D2) mounts on $MNT2
mount2() {
	what=$1; shift
	"$SWAPFS" -f "$@" "$MNT2" 2>>"$T/daemon.log" &
	D2=$!
	for _ in $(seq 100); do
		grep -q " $MNT2 " /proc/mounts && break
		kill -0 "$D2" 2>/dev/null || break
		sleep 0.05
	done
	grep -q " $MNT2 " /proc/mounts || fail "$what"
}
# umount2 WHAT: unmount $MNT2; its daemon (WHAT) must exit 0
umount2() {
	umount "$MNT2" || fail "umount $MNT2"
	wait "$D2"; rc=$?
	D2=
	[ $rc -eq 0 ] || fail "$1 exited $rc"
}

# every refusal of the members of a mounted filesystem, named by $1
refused() {
	"$SWAPFS" "$1" "$MNT2" >"$T/out" 2>&1 && fail "$2: mounted a second time"
	grep -q "in use" "$T/out" || fail "$2: second mount: message: $(cat "$T/out")"
	"$MKSWAPFS" -q -f $(echo "$1" | tr ':' ' ') >"$T/out" 2>&1; rc=$?
	[ $rc -eq 1 ] || fail "$2: mkswapfs -f on mounted members: exit $rc"
	grep -q "in use" "$T/out" || fail "$2: mkswapfs -f: message: $(cat "$T/out")"
	for mode in -y -p; do
		"$FSCK" $mode "$1" >"$T/out" 2>&1; rc=$?
		[ $rc -eq 8 ] || { cat "$T/out"; fail "$2: swapfsck $mode on mounted members: exit $rc"; }
		grep -q "in use\|is mounted" "$T/out" || fail "$2: swapfsck $mode: message: $(cat "$T/out")"
	done
	"$FSCK" -n "$1" >"$T/out" 2>&1; rc=$?
	[ $rc -le 4 ] || { cat "$T/out"; fail "$2: swapfsck -n on mounted members: exit $rc"; }
	grep -q "warning: .*mounted" "$T/out" || fail "$2: swapfsck -n: no warning: $(cat "$T/out")"
}

# ---- item 3: image files mounted, the loop devices refused ---------------
mount_fs
echo keep > "$MNT/important" || fail "write"
sync
refused "$LDEVS" "image files mounted, loop devices"
# a read-only mount beside it would show a table changing under it
"$SWAPFS" -o ro "$RODEVS" "$MNT2" >"$T/out" 2>&1 && fail "read-only mount beside a read-write one"
grep -q "in use" "$T/out" || fail "read-only mount beside a read-write one: message: $(cat "$T/out")"
[ "$(cat "$MNT/important")" = keep ] || fail "file changed under the mount"
umount_fs
# one member under two names in one list: listed twice
l0=$(echo "$LDEVS" | cut -d: -f1)
"$FSCK" -n "$T/m0.img:$l0:$T/m2.img:$T/m3.img" >"$T/out" 2>&1; rc=$?
[ $rc -eq 8 ] || { cat "$T/out"; fail "one member under two names: swapfsck -n exit $rc"; }
grep -q "listed twice" "$T/out" || fail "one member under two names: message: $(cat "$T/out")"

# ---- and the other way round: loop devices mounted, image files refused --
mount2 "mount through the loop devices" "$LDEVS"
[ "$(cat "$MNT2/important")" = keep ] || fail "file through the loop devices"
refused "$DEVS" "loop devices mounted, image files"
umount2 "daemon on the loop devices"

"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "not clean after the refusals"; }
mount_fs
[ "$(cat "$MNT/important")" = keep ] || fail "file lost"
umount_fs

# ---- item 9: read-only members ------------------------------------------
sum=$(cat $imgs | md5sum)
"$SWAPFS" "$RODEVS" "$MNT" >"$T/out" 2>&1 && fail "read-write mount of read-only members"
grep -q "read-only" "$T/out" || fail "read-only members: message: $(cat "$T/out")"
grep -q -- "-o ro" "$T/out" || fail "read-only members: message does not mention -o ro: $(cat "$T/out")"
"$MKSWAPFS" -q -f $(echo "$RODEVS" | tr ':' ' ') >"$T/out" 2>&1; rc=$?
[ $rc -eq 1 ] || fail "mkswapfs on read-only members: exit $rc"
grep -q "read-only" "$T/out" || fail "mkswapfs on read-only members: message: $(cat "$T/out")"
"$FSCK" -y "$RODEVS" >"$T/out" 2>&1; rc=$?
[ $rc -eq 8 ] || fail "swapfsck -y on read-only members: exit $rc"
grep -q "read-only" "$T/out" || fail "swapfsck -y on read-only members: message: $(cat "$T/out")"
"$FSCK" -n "$RODEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "swapfsck -n on read-only members"; }
[ "$(cat $imgs | md5sum)" = "$sum" ] || fail "something wrote to the read-only members' images"
# -o ro is fine
mount2 "-o ro mount of read-only members" -o ro "$RODEVS"
[ "$(cat "$MNT2/important")" = keep ] || fail "file through read-only members"
umount2 "read-only daemon"
echo "1 passed, 0 failed"
