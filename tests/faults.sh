#!/bin/sh
# faults.sh - device errors injected through the engine's fault hook
# (SWAPFS_FAULTS): the application gets EIO, the daemon logs the member and
# stays up, files on healthy members stay readable, nothing is corrupted.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
make_images 4 64M 64M 64M 64M
format
mount_fs
printf 'small file on member 0\n' > "$MNT/small"
dd if=/dev/urandom of="$T/big.src" bs=1M count=8 status=none
cp "$T/big.src" "$MNT/big"
umount_fs

# reads failing on member 1 (forever: a member that went away)
SWAPFS_FAULTS="1:r:1:0:5" mount_fs
cat "$MNT/big" >/dev/null 2>"$T/err" && fail "read through a failing member succeeded"
grep -q "Input/output error" "$T/err" || fail "no EIO: $(cat "$T/err")"
[ "$(cat "$MNT/small")" = "small file on member 0" ] || fail "healthy file unreadable"
ls "$MNT" >/dev/null || fail "daemon died"
grep -q "member 1" "$T/daemon.log" || fail "error not logged with the member"
umount_fs

# writes failing on member 2: the writer gets EIO, others go on
SWAPFS_FAULTS="2:w:1:0:5" mount_fs
dd if=/dev/zero of="$MNT/new" bs=1M count=8 status=none 2>"$T/err" && fail "write through a failing member succeeded"
grep -q "Input/output error" "$T/err" || fail "no EIO on write: $(cat "$T/err")"
[ "$(cat "$MNT/small")" = "small file on member 0" ] || fail "existing file unreadable"
cmp "$T/big.src" "$MNT/big" || fail "existing file changed"
touch "$MNT/created" || fail "daemon stopped serving metadata"
umount_fs

# a failing flush is an fsync error
SWAPFS_FAULTS="0:f:1:1:5" mount_fs
$PY -c "
import os, sys
fd = os.open('$MNT/synced', os.O_CREAT | os.O_WRONLY)
os.write(fd, b'x')
try:
    os.fsync(fd)
except OSError as e:
    sys.exit(0 if e.errno == 5 else 1)
sys.exit(1)" || fail "fsync did not report the flush error"
umount_fs

# without faults everything is consistent and readable again
mount_fs
cmp "$T/big.src" "$MNT/big" || fail "big damaged"
[ -e "$MNT/created" ] || fail "created file lost"
if [ -e "$MNT/new" ]; then
	# whatever part of the failed write is there reads as zeros, never garbage
	[ -z "$(tr -d '\0' < "$MNT/new" | head -c 1)" ] || fail "failed write left foreign bytes"
fi
umount_fs
echo "1 passed, 0 failed"
