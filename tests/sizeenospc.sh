#!/bin/sh
# sizeenospc.sh - a write refused for metadata room leaves no trace
# (issue 12 item 2: the size never covers bytes that were not stored).
# Two 64 MiB members with 4 KiB allocation and stripe units: 4 KiB writes
# every 8 KiB each add an extent until the table has no room and write()
# gets ENOSPC.  After it the size is the end of the last acknowledged
# write, fsync and close return 0 (nothing acknowledged was lost), the
# size is the same after a remount, every acknowledged block reads back
# and swapfsck -n is clean.  The same with O_DIRECT writes, and with a
# write that would extend the file by a hole and then data; with 8 KiB
# stripe units, where each write is staged and sent by the next one
# (write-behind holds the table room of what it acknowledges, so the
# refusal is the staging write's, never a later loss); and through the
# client library (fs/daemon/direct.c), where the swapfs package is built; there
# also a client write larger than the volume's free space takes none of it.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
make_images 2 64M

cat >"$T/fill.py" <<'PY'
import errno, json, mmap, os, sys
mnt, name, mode, state = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
K4 = 4096
p = f"{mnt}/{name}"
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
if mode == "direct":
    flags |= os.O_DIRECT
fd = os.open(p, flags, 0o644)
buf = mmap.mmap(-1, K4)		# aligned, for O_DIRECT
pwrite = os.pwrite
if mode == "client":		# the client library's path (fs/daemon/direct.c)
    import ctypes
    from swapfs import _aio
    client = _aio.Client(mnt, 30000)
    cfile = client.register(fd)[0]
    buf = client.buf_alloc(K4)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))

    def pwrite(fd, b, off):
        client.submit([(_aio.WRITE, cfile, addr, K4, off, 1)])
        (ud, res), = client.wait(1, 1, 30000)
        if res < 0:
            raise OSError(-res, os.strerror(-res))
        return res

def block(i):
    return (f"{name} block {i:07d} ".encode() * 300)[:K4]

i, werr, end = 0, 0, 0
while True:
    buf[:] = block(i)
    try:
        k = pwrite(fd, buf, i * 2 * K4)
    except OSError as e:
        werr = e.errno
        break
    assert k == K4, f"short write {k}"
    end = i * 2 * K4 + K4
    i += 1
    if i % 2000 == 0:
        os.fsync(fd)
bad = []
if werr != errno.ENOSPC:
    bad.append(f"write {i} failed with {werr}, not ENOSPC")
size = os.fstat(fd).st_size
if size != end:
    bad.append(f"after the refused write {i} the size is {size}, the last stored byte ends at {end}")
herr = 0
if mode == "hole":	# one more write past a hole, refused too
    try:
        os.pwrite(fd, block(i), i * 2 * K4 + (1 << 20))
    except OSError as e:
        herr = e.errno
    if herr != errno.ENOSPC:
        bad.append(f"a write past a hole: {herr}, not ENOSPC")
    size = os.fstat(fd).st_size
    if size != end:
        bad.append(f"after a refused write past a hole the size is {size}, expected {end}")
closers = (("fsync", os.fsync), ("close", os.close))
if mode == "client":
    closers = (("swapfs_fsync", lambda fd: client.fsync(cfile)),
               ("swapfs_file_unregister", lambda fd: client.unregister(cfile))) + closers
for what, f in closers:
    try:
        f(fd)
    except OSError as e:
        bad.append(f"{what}: {os.strerror(e.errno)} though every acknowledged write was stored")
size = os.stat(p).st_size
if size != end:
    bad.append(f"after close the size is {size}, expected {end}")
json.dump(dict(n=i, end=end), open(state, "w"))
print(f"{name}: {i} writes stored, write {i} refused with ENOSPC, size {size}")
if bad:
    sys.exit("\n".join(bad))
PY

cat >"$T/check.py" <<'PY'
import json, os, sys
mnt, name, state = sys.argv[1], sys.argv[2], sys.argv[3]
K4 = 4096
s = json.load(open(state))
p = f"{mnt}/{name}"
size = os.stat(p).st_size
assert size == s["end"], f"{name}: size {size}, expected {s['end']}"
with open(p, "rb") as f:
    for i in range(s["n"]):
        f.seek(i * 2 * K4)
        got = f.read(K4)
        assert got == (f"{name} block {i:07d} ".encode() * 300)[:K4], f"{name}: block {i} differs"
print(f"{name}: size {size} and {s['n']} blocks read back")
PY

export PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python"
modes="buffered direct hole staged"
$PY -c "from swapfs import _aio" 2>/dev/null && modes="$modes client"
for mode in $modes; do
	echo "== $mode: 4 KiB writes, each a new extent, until the table is full"
	su=4096
	[ "$mode" = staged ] && su=8192
	format -f -a 4096 -s $su
	mount_fs
	$PY "$T/fill.py" "$MNT" "f" "$mode" "$T/state" || fail "$mode: the refused write left a trace"
	$PY "$T/check.py" "$MNT" "f" "$T/state" || fail "$mode: before remount"
	umount_fs
	"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "$mode: swapfsck"; }
	mount_fs
	$PY "$T/check.py" "$MNT" "f" "$T/state" || fail "$mode: after a remount"
	umount_fs
done
case $modes in
*client*)
	# a client write refused for volume space takes none: 8 free units, a 64 KiB write
	echo "== client: a write larger than the free space leaves it free"
	format -f -a 4096 -s 4096
	mount_fs
	$PY - "$MNT" <<'PY' || fail "client: a refused write took volume space"
import ctypes, errno, os, sys
from swapfs import _aio
mnt = sys.argv[1]
MiB, K4 = 1 << 20, 4096
fd = os.open(f"{mnt}/fill", os.O_WRONLY | os.O_CREAT, 0o644)
try:
    while True:
        os.write(fd, b"x" * MiB)
except OSError as e:
    assert e.errno == errno.ENOSPC, e
os.ftruncate(fd, os.fstat(fd).st_size // MiB * MiB - 8 * K4)
os.fsync(fd)
os.close(fd)
free0 = os.statvfs(mnt).f_bfree
assert 0 < free0 < 16, f"{free0} free blocks, expected a few"
fd = os.open(f"{mnt}/g", os.O_RDWR | os.O_CREAT, 0o644)
client = _aio.Client(mnt, 30000)
cfile = client.register(fd)[0]
buf = client.buf_alloc(16 * K4)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
client.submit([(_aio.WRITE, cfile, addr, 16 * K4, 0, 1)])
(ud, res), = client.wait(1, 1, 30000)
bad = []
if res != -errno.ENOSPC:
    bad.append(f"a 64 KiB write with {free0} blocks free: {res}, not -ENOSPC")
free1 = os.statvfs(mnt).f_bfree
if free1 != free0:
    bad.append(f"the refused write took {free0 - free1} of {free0} free blocks")
client.unregister(cfile)
client.close()
os.close(fd)
print(f"{free0} blocks free before and {free1} after a refused 64 KiB client write")
if bad:
    sys.exit("\n".join(bad))
PY
	umount_fs
	"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "client: swapfsck"; }
	;;
*) echo "client path not checked: no swapfs._aio" ;;
esac

# df -i beside one file of many extents: what it calls free must fit (it
# used to divide the room by the table's average cost per inode and said 1
# free inode where 4,628 new names still fitted)
echo "== df -i beside a file of 3,000 extents"
format -f -a 4096 -s 4096
mount_fs
$PY - "$MNT" <<'PY' || fail "df -i beside a file of many extents"
import os, sys
mnt = sys.argv[1]
fd = os.open(f"{mnt}/sparse", os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(3000):
    os.pwrite(fd, b"s" * 4096, i * 8192)
os.fsync(fd)
os.close(fd)
free = os.statvfs(mnt).f_ffree
assert free >= 1000, f"df -i says {free} inodes free beside one sparse file"
os.mkdir(f"{mnt}/d")
for k in range(free):
    open(f"{mnt}/d/{k:032d}", "w").close()
print(f"{free} inodes free by df -i, and {free} new 32-byte names fitted")
PY
umount_fs
echo PASS
