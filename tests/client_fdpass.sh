#!/bin/sh
# client_fdpass.sh - a client that passes descriptors to the daemon
# (SCM_RIGHTS) gets an error at once and the daemon keeps serving: a file
# and the directory of the mount itself, a pipe, a socket, /dev/zero, a huge
# sparse memfd, and a file of another FUSE mount whose daemon is stopped (a
# daemon that installed it would wait forever in close() for its FLUSH, and
# then its unmount would hang).  Buffers come from the daemon instead, as a
# sealed memfd with the BUF_ADD answer.  Unmount completes in bounded time.
# Then the per-connection limits (tests/client_io limits).
. "$(dirname "$0")/lib.sh"
require_fuse
make_images 4 64M
format
B_PID=
MNTB=$T/mntb
cleanup_b() {
	[ -n "$B_PID" ] && kill -CONT "$B_PID" 2>/dev/null
	if grep -q " $MNTB " /proc/mounts; then
		umount "$MNTB" 2>/dev/null || umount -l "$MNTB" 2>/dev/null
	fi
	if [ -n "$B_PID" ]; then
		for _ in $(seq 50); do kill -0 "$B_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$B_PID" 2>/dev/null
	fi
	B_PID=
}
trap 'cleanup_b; cleanup' EXIT
mount_fs

# a second swapfs: "another FUSE mount", whose daemon the test stops
mkdir "$MNTB"
truncate -s 64M "$T/b0.img" "$T/b1.img" || exit 99
"$MKSWAPFS" -q "$T/b0.img" "$T/b1.img" || fail "mkswapfs of the second mount"
"$SWAPFS" -f "$T/b0.img:$T/b1.img" "$MNTB" 2>>"$T/daemon_b.log" &
B_PID=$!
for _ in $(seq 100); do grep -q " $MNTB " /proc/mounts && break; sleep 0.05; done
grep -q " $MNTB " /proc/mounts || fail "the second mount did not come up"
echo other >"$MNTB/other" || fail "write on the second mount"

echo "== descriptors passed to the daemon are refused; the daemon keeps serving"
timeout 300 $PY - "$MNT" "$MNTB/other" "$B_PID" "$(dirname "$0")/../fs/client/proto.h" <<'PY' || fail "descriptors passed to the daemon"
import array, errno, fcntl, mmap, os, re, signal, socket, struct, sys, time
mnt, other, bpid = sys.argv[1], sys.argv[2], int(sys.argv[3])
name = os.getxattr(mnt, "swapfs.client")
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(b"\0" + name)
s.settimeout(20)	# an answer comes at once, or the daemon is stuck
tag = 0

def ask(op, length, fd=None):
    """One request, perhaps with a descriptor; its result and any descriptor back."""
    global tag
    tag += 1
    req = struct.pack("<IIIIQQQQ", op, 0, 0, 0, 0, 0, length, tag)
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))] if fd is not None else []
    try:
        s.sendmsg([req], anc)
    except PermissionError:	# the daemon's socket takes no descriptor (SO_PASSRIGHTS, Linux 6.16)
        return -errno.EPERM, []
    while True:
        try:
            data, ancdata, _, _ = s.recvmsg(64, socket.CMSG_SPACE(4 * 4))
        except socket.timeout:
            sys.exit(f"no answer in 20 s: the daemon is stuck (tag {tag})")
        fds = []
        for level, kind, blob in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(array.array("i", blob[:len(blob) - len(blob) % 4]))
        assert len(data) % 24 == 0 and data, f"bad answer {data!r}"
        for i in range(0, len(data), 24):
            t, res, val = struct.unpack("<QqQ", data[i:i + 24])
            if t == tag:
                return res, fds
        for f in fds:
            os.close(f)

BUF_ADD, READ = 2, 6
with open(mnt + "/own", "w") as f:
    f.write("own")
huge = os.memfd_create("huge", os.MFD_ALLOW_SEALING)
os.ftruncate(huge, 512 << 30)	# sparse: costs nothing until touched
fcntl.fcntl(huge, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK)
pr, pw = os.pipe()
sa, sb = socket.socketpair()
cases = [
    ("a file of the mount itself", os.open(mnt + "/own", os.O_RDWR), 4096),
    ("the mount's directory", os.open(mnt, os.O_RDONLY | os.O_DIRECTORY), 4096),
    ("a pipe", pr, 4096),
    ("a socket", sa.fileno(), 4096),
    ("/dev/zero", os.open("/dev/zero", os.O_RDWR), 4096),
    ("a 512 GiB sparse memfd", huge, 512 << 30),
]
bad = 0
for what, fd, length in cases:
    res, fds = ask(BUF_ADD, length, fd)
    print(f"{what}: {os.strerror(-res) if res < 0 else res}")
    if res >= 0 or fds:
        print(f"FAIL {what}: accepted")
        bad = 1
res, _ = ask(READ, 4096, cases[0][1])
print(f"a READ carrying a descriptor: {os.strerror(-res) if res < 0 else res}")
bad |= res >= 0

# a file of another FUSE mount whose daemon answers nothing now
fd = os.open(other, os.O_RDWR)
os.kill(bpid, signal.SIGSTOP)
try:
    for _ in range(100):	# every thread of it stopped
        if all(open(f"/proc/{bpid}/task/{t}/stat").read().rsplit(")", 1)[1].split()[0] == "T"
               for t in os.listdir(f"/proc/{bpid}/task")):
            break
        time.sleep(0.05)
    else:
        sys.exit("the second daemon did not stop")
    res, fds = ask(BUF_ADD, 4096, fd)
finally:
    os.kill(bpid, signal.SIGCONT)
print(f"a file of another FUSE mount (its daemon stopped): {os.strerror(-res) if res < 0 else res}")
bad |= res >= 0

# the daemon keeps serving: a buffer comes back as a sealed memfd
res, fds = ask(BUF_ADD, 1 << 20)
if res < 0 or len(fds) != 1:
    sys.exit(f"FAIL a buffer from the daemon: {res}, {len(fds)} descriptors")
seals = fcntl.fcntl(fds[0], fcntl.F_GET_SEALS)
assert seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_SEAL, f"seals {seals:#x}"
assert os.fstat(fds[0]).st_size == 1 << 20
m = mmap.mmap(fds[0], 1 << 20)
m[:5] = b"hello"
m.close()
print("a buffer from the daemon: a sealed 1 MiB memfd")
os.close(fds[0])

# per-connection limits on buffers: their number, then their bytes
proto = open(sys.argv[4]).read()
def const(name):
    return eval(re.search(r"#define " + name + r"\s+(\S+(?: << \d+\))?)", proto)
                .group(1).replace("ull", ""))
max_bufs, max_bytes = const("SWC_MAX_BUFS"), const("SWC_MAX_BUF_BYTES")
for i in range(1, max_bufs + 1):	# one is there already
    res, fds = ask(BUF_ADD, 4096)
    for f in fds:
        os.close(f)
    if res < 0:
        break
print(f"buffer {i + 1} of a connection: {os.strerror(-res) if res < 0 else res}")
if i != max_bufs or res != -errno.EMFILE:
    print(f"FAIL buffer {i + 1}: {res}, not EMFILE after {max_bufs}")
    bad = 1
s.close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(b"\0" + name)
s.settimeout(20)
got = []
for length in (max_bytes // 2, max_bytes // 2, 4096):	# not touched: address space only
    res, fds = ask(BUF_ADD, length)
    for f in fds:
        os.close(f)
    got.append(res)
print(f"buffers of {max_bytes // 2} + {max_bytes // 2} + 4096 bytes: {got}")
if got[:2] != [0, 0] or got[2] != -errno.ENOMEM:
    print(f"FAIL the bytes limit: {got}")
    bad = 1
sys.exit(bad)
PY
"$builddir/tests/client_io" "$MNT" write || fail "the daemon stopped serving"

echo "== swapfs.aio: a locked tensor is adopted by one daemon, the other mount copies"
if [ -f "$builddir/fs/client/python/swapfs/_aio.so" ] && $PY -c "import torch" 2>/dev/null; then
	PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python" \
	timeout 300 $PY - "$MNT" "$MNTB" <<'PY' || fail "one tensor, two mounts"
import sys, torch
from swapfs.aio import aio_handle
a_mnt, b_mnt = sys.argv[1], sys.argv[2]
h = aio_handle(1 << 20, 8, False, False, 1)
t = h.new_cpu_locked_tensor(3 << 20, torch.empty(0, dtype=torch.uint8))	# before any mount
want = torch.randint(0, 255, (3 << 20,), dtype=torch.uint8)
t.copy_(want)
ptr = t.data_ptr()

def mapping(addr):
    for line in open("/proc/self/maps"):
        f = line.split()
        if int(f[0].split("-")[0], 16) == addr:
            return " ".join(f[5:])
    return None

assert h.sync_pwrite(t, a_mnt + "/adopted") == 1	# daemon A adopts it
assert "memfd:swapfs-client" in mapping(ptr), mapping(ptr)
assert torch.equal(t, want) and t.data_ptr() == ptr
assert h.sync_pwrite(t, b_mnt + "/copied") == 1	# daemon B: through its bounce buffer
for f in (a_mnt + "/adopted", b_mnt + "/copied"):
    assert open(f, "rb").read() == want.numpy().tobytes(), f
t.zero_()
assert h.sync_pread(t, b_mnt + "/copied") == 1 and torch.equal(t, want), "read through B"
t.zero_()
assert h.sync_pread(t, a_mnt + "/adopted") == 1 and torch.equal(t, want), "read through A"
assert h.free_cpu_locked_tensor(t) is True
assert torch.equal(t, want), "freed: the mapping stays with its bytes"
h.close()
print("one tensor, two mounts: adopted by one daemon, copied by the other")
PY
else
	echo "swapfs.aio or torch missing: skipped"
fi

echo "== per-connection limits"
"$builddir/tests/client_io" "$MNT" limits || fail "limits"

echo "== unmount completes"
timeout 60 umount "$MNT" || fail "umount hung or failed"
for _ in $(seq 600); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DAEMON_PID" 2>/dev/null && fail "the daemon did not exit within 60 s of its unmount"
wait "$DAEMON_PID" || fail "the daemon exited $?"
DAEMON_PID=
cleanup_b
echo "PASS"
