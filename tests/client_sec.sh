#!/bin/sh
# client_sec.sh - the client path against a hostile local user (nobody) on
# a mount with -o allow_other: registration gives a descriptor's rights and
# no more, even while the descriptor number is swapped under it with dup2;
# one user's connections cannot lock others out; idle connections that
# registered nothing are closed, and libswapfs reconnects them unnoticed.
. "$(dirname "$0")/lib.sh"
require_fuse
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v setpriv >/dev/null || skip "no setpriv"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
export SWAPFS_CLIENT_IDLE=3	# seconds a connection may hold nothing registered
make_images 4 64M
format
mount_fs -o allow_other
chmod 755 "$T"
mkdir "$T/sync" && chown 65534:65534 "$T/sync"	# where nobody says how far it got
$NOBODY test -x "$builddir/tests/client_sec" || skip "the build directory is not readable by nobody"

echo "== registration binds the access mode to the very file (dup2 race)"
printf 'p%.0s' $(seq 4096) >"$MNT/public" && chmod 644 "$MNT/public"
printf 's%.0s' $(seq 4096) >"$MNT/secret" && chmod 600 "$MNT/secret"
mkdir "$MNT/nobody" && chown 65534:65534 "$MNT/nobody"
sum_public=$(md5sum <"$MNT/public")
sum_secret=$(md5sum <"$MNT/secret")
timeout 300 $NOBODY "$builddir/tests/client_sec" "$MNT" "$MNT/public" "$MNT/secret" \
	"$MNT/nobody/own" || fail "client_sec"
[ "$(md5sum <"$MNT/public")" = "$sum_public" ] || fail "the 0644 file was changed by nobody"
[ "$(md5sum <"$MNT/secret")" = "$sum_secret" ] || fail "the 0600 file was changed by nobody"

echo "== 80 connections of one user do not lock root out"
# nobody opens 80 connections and keeps each busy with a registered buffer
$NOBODY $PY - "$MNT" "$T/sync/hog" <<'PY' &
import os, socket, struct, sys, time
mnt, state = sys.argv[1], sys.argv[2]
name = os.getxattr(mnt, "swapfs.client")
served, refused = [], 0
for i in range(80):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    try:
        s.connect(b"\0" + name)
        # SWC_BUF_ADD (op 2) of 4096 bytes, tag 7 (its memfd, sent back, is dropped)
        s.send(struct.pack("<IIIIQQQQ", 2, 0, 0, 0, 0, 0, 4096, 7))
        ans = s.recv(64)
        if len(ans) == 24 and struct.unpack("<QqQ", ans)[1] == 0:
            served.append(s)
            continue
    except OSError:
        pass
    refused += 1
    s.close()
print(f"nobody: {len(served)} connections served, {refused} refused", flush=True)
open(state + (".held" if refused else ".unlimited"), "w").close()
end = time.time() + 300
while not os.path.exists(state + ".go") and time.time() < end:
    time.sleep(0.1)
PY
HOG=$!
for _ in $(seq 600); do [ -e "$T/sync/hog.held" ] || [ -e "$T/sync/hog.unlimited" ] || ! kill -0 $HOG 2>/dev/null && break; sleep 0.1; done
[ -e "$T/sync/hog.unlimited" ] && { touch "$T/sync/hog.go"; fail "one user got every connection it asked for"; }
[ -e "$T/sync/hog.held" ] || fail "nobody's connections never settled"
timeout 300 "$builddir/tests/client_io" "$MNT" write || { touch "$T/sync/hog.go"; fail "root locked out"; }
touch "$T/sync/hog.go"
wait $HOG || fail "nobody's connection hog"

echo "== connections that registered nothing are closed when idle; libswapfs reconnects"
$NOBODY env PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python" \
	$PY - "$MNT" "$builddir/fs/client/python/swapfs/_aio.so" <<'PY' || fail "idle connections"
import os, socket, struct, sys, time
mnt = sys.argv[1]
name = os.getxattr(mnt, "swapfs.client")

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(b"\0" + name)
    return s

def with_buffer():
    """A connection with a buffer registered, or None if refused."""
    s = conn()
    s.settimeout(20)
    try:
        s.send(struct.pack("<IIIIQQQQ", 2, 0, 0, 0, 0, 0, 4096, 1))
        ans = s.recv(64)
    except OSError:
        ans = b""
    if len(ans) == 24 and struct.unpack("<QqQ", ans)[:2] == (1, 0):
        return s, struct.unpack("<QqQ", ans)[2]
    s.close()
    return None, 0

# one connection with a buffer registered: it is in use, never idle (the
# hog's connections before may take a moment to go: try again if refused)
end = time.time() + 60
busy, buf_id = with_buffer()
while busy is None and time.time() < end:
    time.sleep(0.2)
    busy, buf_id = with_buffer()
assert busy, "a connection with a buffer: refused"
handle = None
if os.path.exists(sys.argv[2]):
    from swapfs.aio import aio_handle
    handle = aio_handle(mount=mnt, timeout=20)	# connected, nothing registered yet
idle = [conn() for _ in range(4)]
for s in idle:	# opened last: once they are closed, every idle connection before them is
    s.settimeout(120)
    try:
        assert s.recv(64) == b"", "an idle connection got an answer"
    except socket.timeout:
        sys.exit("an idle connection that registered nothing was never closed")
    except ConnectionResetError:
        pass
# the busy connection still serves: SWC_BUF_DEL (op 3) of its buffer
busy.send(struct.pack("<IIIIQQQQ", 3, 0, buf_id, 0, 0, 0, 0, 2))
tag, res, _ = struct.unpack("<QqQ", busy.recv(64))
assert (tag, res) == (2, 0), f"the busy connection: {res}"
print("idle connections closed, the busy one served")
if handle:
    import numpy as np
    b = handle.new_buffer(1 << 20)
    b[:] = 7
    assert handle.sync_pwrite(b, mnt + "/nobody/after-idle") == 1	# operations, as DeepSpeed
    assert (np.fromfile(mnt + "/nobody/after-idle", dtype=np.uint8) == 7).all()
    print("a handle idle past the timeout reconnected")
PY
grep -q "idle" "$T/daemon.log" || fail "the daemon did not log closing idle connections"
umount_fs
echo "PASS"
