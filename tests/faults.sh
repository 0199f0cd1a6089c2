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

# member 3 vanishes under load: after its 20th I/O every read, write and
# flush on it fails, while two writers, a reader and a client-path writer run
export PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python"
SWAPFS_FAULTS="3:rwf:20:0:5" mount_fs
$PY - "$MNT" <<'PY' || fail "load while a member vanished"
import errno, os, sys, threading
mnt = sys.argv[1]
seen = {}

def writer(n):
    try:
        with open(f"{mnt}/load{n}", "wb") as f:
            for _ in range(64):
                f.write(bytes([n]) * (1 << 20))
            f.flush()
            os.fsync(f.fileno())
        seen[n] = 0
    except OSError as e:
        seen[n] = e.errno

def reader():
    import time
    end = time.time() + 60
    try:
        while time.time() < end:	# until the vanished member answers it
            open(f"{mnt}/big", "rb").read()
        seen["r"] = 0
    except OSError as e:
        seen["r"] = e.errno

def client():
    try:
        from swapfs.aio import aio_handle
        h = aio_handle(mount=mnt, timeout=30)
        b = h.new_buffer(8 << 20)
        b[:] = 9
        for i in range(8):
            h.sync_pwrite(b, f"{mnt}/load9", file_offset=i << 23)
        seen["c"] = 0
    except ImportError:
        seen["c"] = errno.EIO
    except OSError as e:
        seen["c"] = e.errno

ts = [threading.Thread(target=writer, args=(1,)), threading.Thread(target=writer, args=(2,)),
      threading.Thread(target=reader), threading.Thread(target=client)]
for t in ts: t.start()
for t in ts: t.join()
print("results:", seen)
bad = {k: v for k, v in seen.items() if v != errno.EIO}
sys.exit(f"expected EIO everywhere, got {bad}" if bad else 0)
PY
ls "$MNT" >/dev/null || fail "daemon died when a member vanished"
[ "$(cat "$MNT/small")" = "small file on member 0" ] || fail "healthy file unreadable after a member vanished"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck after a member vanished"; }

# without faults everything is consistent and readable again
mount_fs
cmp "$T/big.src" "$MNT/big" || fail "big damaged"
[ -e "$MNT/created" ] || fail "created file lost"
if [ -e "$MNT/new" ]; then
	# whatever part of the failed write is there reads as zeros, never garbage
	[ -z "$(tr -d '\0' < "$MNT/new" | head -c 1)" ] || fail "failed write left foreign bytes"
fi
for n in 1 2 9; do	# the writers' files hold their own bytes or zeros
	[ -e "$MNT/load$n" ] || continue
	[ -z "$(tr -d "\\000\\$(printf %03o $n)" < "$MNT/load$n" | head -c 1)" ] ||
		fail "load$n holds foreign bytes after the member vanished"
done
umount_fs
echo "1 passed, 0 failed"
