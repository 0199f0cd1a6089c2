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
umount_fs
mount_fs -o allow_other
$PY "$(dirname "$0")/fs_posix.py" "$MNT" write || fail "checks failed"
umount_fs
mount_fs -o allow_other
$PY "$(dirname "$0")/fs_posix.py" "$MNT" verify || fail "verification after remount failed"
umount_fs
grep -qi "error" "$T/daemon.log" && { cat "$T/daemon.log"; fail "daemon logged errors"; }
exit 0
