#!/bin/sh
# fs_posix.sh - format image files, mount, run the POSIX checks of
# fs_posix.py, remount, verify what they left; always unmounts.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
make_images 4 160M 160M 176M 160M
chmod 755 "$T"
format
# allow_other is off by default: another user cannot even look inside
mount_fs
setpriv --reuid=65534 --regid=65534 --clear-groups stat "$MNT/." >/dev/null 2>&1 &&
	fail "another user reached a mount without allow_other"
# members are exclusive: no second daemon, no mkswapfs, no raw benchmark on them
mkdir "$T/mnt2"
msg=$("$SWAPFS" "$DEVS" "$T/mnt2" 2>&1) && { umount "$T/mnt2"; fail "a second daemon mounted the members"; }
echo "$msg" | grep -q "in use" || fail "second mount: $msg"
msg=$("$MKSWAPFS" -f $(echo "$DEVS" | tr ':' ' ') 2>&1) && fail "mkswapfs formatted mounted members"
"$builddir/tools/swapbench" raw --devices "$DEVS" --size 8M >/dev/null 2>&1 && fail "swapbench wrote to mounted members"
"$builddir/tools/swapfsck" -n "$DEVS" >/dev/null 2>&1; [ $? -le 4 ] || fail "swapfsck -n on a mounted filesystem"
umount_fs
mount_fs -o allow_other
$PY "$(dirname "$0")/fs_posix.py" "$MNT" write || fail "checks failed"
# live figures: readable while mounted, one entry per member, writes counted
"$builddir/tools/swapfs-stat" --json "$MNT" | $PY -c '
import json, sys
j = json.load(sys.stdin)
assert len(j["members"]) == 4 and sum(m["bytes_written"] for m in j["members"]) > 0, j
assert j["used_bytes"] <= j["volume_bytes"] and j["staging_bytes"] > 0, j' || fail "swapfs-stat"
"$builddir/tools/swapfs-stat" "$MNT" | grep -q "^total" || fail "swapfs-stat text"
$PY "$(dirname "$0")/names.py" "$MNT" || fail "names"
setfattr -n swapfs.stats -v x "$MNT" 2>/dev/null && fail "the stats are writable"
umount_fs
mount_fs -o allow_other
$PY "$(dirname "$0")/fs_posix.py" "$MNT" verify || fail "verification after remount failed"
umount_fs

# read-only: everything readable, every change EROFS, nothing written to the members
sum_before=$(cat "$T"/m*.img | md5sum)
mount_fs -o ro
cmp -s "$MNT/app.txt" /dev/null && fail "ro: empty read"
[ "$(cat "$MNT/app.txt")" = "abc" ] || fail "ro: read"
for what in "touch $MNT/new" "mkdir $MNT/newdir" "rm $MNT/app.txt" "truncate -s 0 $MNT/app.txt" \
	    "setfattr -n user.x -v 1 $MNT/app.txt"; do
	command -v "${what%% *}" >/dev/null || continue
	$what 2>"$T/err" && fail "ro: '$what' succeeded"
	grep -q "Read-only file system" "$T/err" || fail "ro: '$what': $(cat "$T/err")"
done
umount_fs
[ "$(cat "$T"/m*.img | md5sum)" = "$sum_before" ] || fail "ro mount wrote to a member"

# through fuse3's mount helper, as an fstab line would (the helper daemonizes);
# mount sanitizes PATH, so the build tree's daemon is named in the source
mount -t fuse "$builddir/fs/daemon/swapfs#$DEVS" "$MNT" -o allow_other || fail "mount -t fuse (helper)"
[ "$(cat "$MNT/app.txt")" = "abc" ] || fail "mount helper: read"
umount "$MNT" || fail "mount helper: umount"
grep -qi "error" "$T/daemon.log" && { cat "$T/daemon.log"; fail "daemon logged errors"; }
exit 0
