#!/bin/sh
# wberr.sh - no acknowledged write is lost in silence: writers of 1 MiB
# blocks fill a fresh volume; write() itself gets ENOSPC, and every byte
# it acknowledged reads back (before and after a remount), or else fsync
# and close report the loss; a file's size never covers bytes that were
# not stored.  Then an asynchronous write-behind error (an injected EIO):
# every open file of the file sees it once at its next fsync and once at
# its next close, a file opened after it does not, and the size is
# trimmed back to the bytes that were stored.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
make_images 4 256M

# fill.py MNT NWRITERS STATE: writers 1..N fill w1..wN with blocks of
# distinct content until write() fails; STATE records what each saw.
cat >"$T/fill.py" <<'PY'
import errno, json, os, sys, threading
mnt, nw, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
MiB = 1 << 20

def block(n, i):
    head = f"writer {n} block {i:06d} ".encode()
    return (head * (MiB // len(head) + 1))[:MiB]

res = {}

def writer(n):
    fd = os.open(f"{mnt}/w{n}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    acked, i, werr = 0, 0, 0
    try:
        while True:
            b = memoryview(block(n, i))
            while b:		# a short write acknowledges its part
                k = os.write(fd, b)
                acked += k
                b = b[k:]
            i += 1
    except OSError as e:
        werr = e.errno
    try:
        os.fsync(fd)
        ferr = 0
    except OSError as e:
        ferr = e.errno
    size = os.fstat(fd).st_size
    try:
        os.close(fd)
        cerr = 0
    except OSError as e:
        cerr = e.errno
    res[n] = dict(acked=acked, write=werr, fsync=ferr, close=cerr, size=size)

ts = [threading.Thread(target=writer, args=(n,)) for n in range(1, nw + 1)]
for t in ts: t.start()
for t in ts: t.join()
json.dump(res, open(state, "w"))
print(res)
PY

# check.py MNT STATE: what each writer was told matches what the files hold
cat >"$T/check.py" <<'PY'
import errno, json, os, sys
mnt, state = sys.argv[1], sys.argv[2]
MiB = 1 << 20
bad = []

def block(n, i):
    head = f"writer {n} block {i:06d} ".encode()
    return (head * (MiB // len(head) + 1))[:MiB]

for n, r in json.load(open(state)).items():
    size = os.stat(f"{mnt}/w{n}").st_size
    if r["write"] != errno.ENOSPC:
        bad.append(f"w{n}: write() ended with {r['write']}, not ENOSPC")
    lost = r["fsync"] or r["close"]
    # write-behind reserves space for what it acknowledges: write() gets ENOSPC, nothing is lost
    if lost:
        bad.append(f"w{n}: acknowledged bytes lost (fsync {r['fsync']}, close {r['close']}): "
                   "write() should have refused them with ENOSPC")
    if r["fsync"] not in (0, errno.ENOSPC, errno.EIO) or r["close"] not in (0, errno.ENOSPC, errno.EIO):
        bad.append(f"w{n}: fsync/close said {r['fsync']}/{r['close']}")
    if r["fsync"] and not r["close"]:
        bad.append(f"w{n}: fsync reported a loss ({r['fsync']}) but close returned 0")
    if not lost and size < r["acked"]:
        bad.append(f"w{n}: fsync and close returned 0 but the size {size} < {r['acked']} bytes acknowledged")
    # every byte under the size is what was written there: none unstored
    with open(f"{mnt}/w{n}", "rb") as f:
        i = 0
        while True:
            got = f.read(MiB)
            if not got:
                break
            if got != block(int(n), i)[:len(got)]:
                z = " (zeros)" if not got.strip(b"\0") else ""
                bad.append(f"w{n}: block {i} of {size >> 20} MiB differs{z}; acknowledged "
                           f"{r['acked']} bytes, fsync {r['fsync']}, close {r['close']}")
                break
            i += 1
if bad:
    sys.exit("\n".join(bad))
print("every acknowledged block reads back, and nothing unstored under the size")
PY

for writers in 1 3; do
	echo "== $writers writer(s) fill a fresh 4 x 256 MiB volume"
	format -f
	mount_fs
	$PY "$T/fill.py" "$MNT" $writers "$T/state" || fail "writers"
	$PY "$T/check.py" "$MNT" "$T/state" || fail "$writers writer(s): after ENOSPC"
	umount_fs
	"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck after ENOSPC"; }
	mount_fs
	$PY "$T/check.py" "$MNT" "$T/state" || fail "$writers writer(s): after ENOSPC and a remount"
	umount_fs
done

echo "== a write-behind error reaches every open file once, at fsync and at close"
format -f
# every data write on member 2 fails (the metadata log is on members 0 and 1)
SWAPFS_FAULTS="2:w:1:0:5" mount_fs
export PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python"
$PY - "$MNT" "$T/daemon.log" "$T/stored" <<'PY' || fail "write-behind error reporting"
import errno, json, os, sys
mnt, log = sys.argv[1], sys.argv[2]
stored = {}
MiB = 1 << 20
bad = []

def res(f, *a):
    try:
        f(*a)
        return 0
    except OSError as e:
        return e.errno

def expect(what, got, want):
    if got != want:
        bad.append(f"{what}: {os.strerror(got) if got else 'success'}, "
                   f"expected {os.strerror(want) if want else 'success'}")

p = f"{mnt}/f"
w = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
r = os.open(p, os.O_RDONLY)		# opened before the error
rw = os.open(p, os.O_RDWR)		# opened before the error, never fsync'd
try:					# a client-path registration is an open file too
    from swapfs import _aio
    client = _aio.Client(mnt, 30000)
    cfd = os.open(p, os.O_RDWR)
    cfile = client.register(cfd)[0]
except ImportError:
    client = None
# 1 MiB blocks, each fsync'd, until one lands on member 2 and fails
for i in range(16):
    assert os.write(w, bytes([i + 1]) * MiB) == MiB, "short write"
    err = res(os.fsync, w)
    if err:
        break
else:
    sys.exit("no write failed: no block went to member 2")
stored["f"] = i
expect("fsync of the writer", err, errno.EIO)
# the failed block was the file's end: the size no longer covers it
if os.fstat(w).st_size != i * MiB:
    bad.append(f"size {os.fstat(w).st_size} covers the failed block (stored: {i * MiB})")
if os.stat(p).st_size != i * MiB:
    bad.append(f"stat size {os.stat(p).st_size} covers the failed block (stored: {i * MiB})")
expect("second fsync of the writer", res(os.fsync, w), 0)
late = os.open(p, os.O_RDONLY)		# opened after the error: does not see it
expect("fsync of a file opened after the error", res(os.fsync, late), 0)
expect("close of a file opened after the error", res(os.close, late), 0)
expect("fsync of a reader opened before", res(os.fsync, r), errno.EIO)
expect("its second fsync", res(os.fsync, r), 0)
expect("close of the reader", res(os.close, r), errno.EIO)
expect("close of the writer", res(os.close, w), errno.EIO)
expect("close of a file never fsync'd", res(os.close, rw), errno.EIO)
if client:
    expect("swapfs_fsync of a client registration", res(client.fsync, cfile), errno.EIO)
    expect("its second swapfs_fsync", res(client.fsync, cfile), 0)
    expect("swapfs_file_unregister", res(client.unregister, cfile), errno.EIO)
    expect("close of the registered descriptor", res(os.close, cfd), errno.EIO)
    client.close()
    print("client path: swapfs_fsync and unregister checked")
else:
    print("client path not checked: no swapfs._aio")
with open(p, "rb") as f:
    data = f.read()
if data != b"".join(bytes([k + 1]) * MiB for k in range(i)):
    bad.append("the stored blocks do not read back")

# an error nobody has reported yet is reported to a file opened after it
# (Linux's errseq_sample), once; after that, new files do not see it
p = f"{mnt}/g"
w = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
rd = os.open(p, os.O_RDONLY | os.O_DIRECT)
msg = f"write-behind of inode {os.fstat(w).st_ino} failed"
for i in range(16):
    os.write(w, bytes([i + 1]) * MiB)
    os.pread(rd, 4096, i * MiB)	# a read waits for the file's writes, and reports nothing
    if msg in open(log).read():
        break
else:
    sys.exit("no write-behind of g failed")
stored["g"] = i
late = os.open(p, os.O_RDONLY)
expect("close of the reader that waited", res(os.close, rd), errno.EIO)	# open when it failed
expect("fsync of a file opened after an error nobody reported", res(os.fsync, late), errno.EIO)
expect("its close", res(os.close, late), errno.EIO)
expect("fsync of the writer", res(os.fsync, w), errno.EIO)
expect("close of the writer", res(os.close, w), errno.EIO)
later = os.open(p, os.O_RDONLY)
expect("fsync of a file opened after the error was reported", res(os.fsync, later), 0)
expect("its close", res(os.close, later), 0)
if os.stat(p).st_size != i * MiB:
    bad.append(f"g: size {os.stat(p).st_size} covers the failed block (stored: {i * MiB})")
json.dump(stored, open(sys.argv[3], "w"))
if bad:
    sys.exit("\n".join(bad))
print("every open file saw EIO once at fsync and once at close")
PY
umount_fs
# the failed blocks left nothing behind: the volume is consistent
"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck after the write-behind errors"; }
mount_fs
$PY - "$MNT" "$T/stored" <<'PY' || fail "after the write-behind errors and a remount"
import json, sys
MiB = 1 << 20
for name, n in json.load(open(sys.argv[2])).items():
    data = open(f"{sys.argv[1]}/{name}", "rb").read()
    assert data == b"".join(bytes([k + 1]) * MiB for k in range(n)), \
        f"{name}: {len(data)} bytes, expected the {n} MiB stored"
PY
umount_fs
echo PASS
