#!/bin/sh
# enospc.sh - the volume filled by parallel writers (buffered, O_DIRECT and
# the client path at once): each gets ENOSPC, the daemon keeps serving,
# statfs agrees with what the files hold, nothing is corrupted, and all the
# space comes back when the files go.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
make_images 4 64M
format
mount_fs
export PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python"

free0=$(stat -f -c '%a' "$MNT")
# writer N fills its file with byte N until the volume is full
$PY - "$MNT" "$T" <<'PY' || fail "parallel writers"
import errno, os, sys, threading
mnt = sys.argv[1]
results = {}

def posix(n, direct):
    flags = os.O_WRONLY | os.O_CREAT | (os.O_DIRECT if direct else 0)
    fd = os.open(f"{mnt}/w{n}", flags, 0o644)
    import mmap
    buf = mmap.mmap(-1, 1 << 20)
    buf.write(bytes([n]) * (1 << 20))
    try:
        while True:
            os.write(fd, buf)
    except OSError as e:
        results[n] = e.errno
    try:
        os.close(fd)	# reports staged bytes the full volume refused
    except OSError as e:
        if e.errno != errno.ENOSPC:
            results[n] = e.errno

def client(n):
    try:
        from swapfs.aio import aio_handle
    except ImportError:
        results[n] = errno.ENOSPC
        return
    h = aio_handle(mount=mnt)
    b = h.new_buffer(1 << 20)
    b[:] = n
    off = 0
    try:
        while True:
            h.sync_pwrite(b, f"{mnt}/w{n}", file_offset=off)
            off += 1 << 20
    except OSError as e:
        results[n] = e.errno
    h.close()
    with open(f"{sys.argv[2]}/client.ok", "w") as f:	# bytes the client path acknowledged
        f.write(str(off))

ts = [threading.Thread(target=posix, args=(1, False)), threading.Thread(target=posix, args=(2, False)),
      threading.Thread(target=posix, args=(3, True)), threading.Thread(target=client, args=(4,))]
for t in ts: t.start()
for t in ts: t.join()
bad = {n: e for n, e in results.items() if e != errno.ENOSPC}
if bad or len(results) != 4:
    sys.exit(f"writers ended with {results}")
print("every writer got ENOSPC")
PY
ls "$MNT" >/dev/null || fail "daemon stopped serving"
touch "$MNT/after-full" 2>/dev/null	# may or may not fit: it must not hang or crash
sync
# statfs agrees with the files: used blocks = what the files allocated (AU-rounded, within 1 MiB per file)
used=$(( (free0 - $(stat -f -c '%a' "$MNT")) * $(stat -f -c '%S' "$MNT") ))
alloc=0
for f in "$MNT"/w*; do alloc=$((alloc + $(stat -c '%b' "$f") * 512)); done
diff=$((used - alloc)); [ $diff -lt 0 ] && diff=$((-diff))
[ $diff -le $((4 << 20)) ] || fail "statfs says $used bytes used, the files hold $alloc"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck after ENOSPC"; }
mount_fs
$PY - "$MNT" "$T" <<'PY' || fail "file contents after ENOSPC"
import sys
mnt = sys.argv[1]
for n in (1, 2, 3, 4):
    data = open(f"{mnt}/w{n}", "rb").read()
    junk = set(data) - {n, 0}
    assert not junk, f"w{n} holds foreign bytes {sorted(junk)[:5]}"
ok = int(open(f"{sys.argv[2]}/client.ok").read())
assert open(f"{mnt}/w4", "rb").read(ok) == bytes([4]) * ok, "acknowledged client writes lost"
print("contents ok")
PY
# space freed by a removal is there for the very next write (not a commit interval later)
$PY - "$MNT" <<'PY' || fail "write right after freeing space"
import os, sys
mnt = sys.argv[1]
os.unlink(f"{mnt}/w1")
fd = os.open(f"{mnt}/right-after", os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"r" * (8 << 20))
os.fsync(fd)
os.close(fd)
PY
rm -f "$MNT"/w* "$MNT/after-full" "$MNT/right-after"
for _ in $(seq 30); do [ "$(stat -f -c '%a' "$MNT")" -eq "$free0" ] && break; sleep 0.2; done
[ "$(stat -f -c '%a' "$MNT")" -eq "$free0" ] || fail "space not returned: $(stat -f -c '%a' "$MNT") of $free0 blocks free"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck at the end"; }
echo PASS
