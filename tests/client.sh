#!/bin/sh
# client.sh - the zero-copy client path (libswapfs, swapfs.aio) on a real
# mount: functional checks through the mount's POSIX view, a DeepSpeed-style
# Python session with torch and numpy, an unprivileged user, a daemon that
# dies under a client, and crashes after client writes with fsync.
. "$(dirname "$0")/lib.sh"
require_fuse
export PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python"
make_images 4 64M
format
mount_fs -o allow_other

echo "== libswapfs checks"
timeout 300 "$builddir/tests/client_io" "$MNT" || fail "client_io"

echo "== swapfs.aio (torch, numpy)"
if [ -f "$builddir/fs/client/python/swapfs/_aio.so" ]; then
	timeout 300 $PY "$(dirname "$0")/client_aio.py" "$MNT" || fail "client_aio.py as root"
	mkdir "$MNT/nobody" && chown 65534:65534 "$MNT/nobody"
	chmod 755 "$T"
	timeout 300 setpriv --reuid=65534 --regid=65534 --clear-groups env PYTHONPATH="$PYTHONPATH" \
		$PY "$(dirname "$0")/client_aio.py" "$MNT/nobody" || fail "client_aio.py as nobody"
	# nobody cannot reach root's files through the client path either
	touch "$MNT/secret" && chmod 600 "$MNT/secret"
	setpriv --reuid=65534 --regid=65534 --clear-groups env PYTHONPATH="$PYTHONPATH" $PY - "$MNT" <<'PY' || fail "permission"
import sys
from swapfs.aio import aio_handle
import numpy as np
h = aio_handle(mount=sys.argv[1])
# DeepSpeed's answer to a file it cannot open: -1 (and a message)
if h.sync_pread(np.zeros(4096, np.uint8), sys.argv[1] + "/secret") != -1:
    sys.exit("read of a 0600 root file succeeded")
PY
else
	echo "swapfs.aio not built (no Python headers): skipped"
fi

echo "== a client that never reads its answers is dropped; others go on"
$PY - "$MNT" <<'PY' || fail "stalled client"
import os, socket, struct, sys, threading, time
from swapfs.aio import aio_handle
mnt = sys.argv[1]
name = os.getxattr(mnt, "swapfs.client")
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(b"\0" + name)
s.setblocking(False)
hello = struct.pack("<IIIIQQQQ", 1, 0, 0, 0, 0, 0, 1, 0) * 64	# 64 HELLOs a message
other = {}

def work():	# another client meanwhile
    h = aio_handle(mount=mnt, timeout=20)
    b = h.new_buffer(1 << 20)
    for i in range(20):
        h.sync_pwrite(b, f"{mnt}/other", file_offset=i << 20)
    other["ok"] = True

t = threading.Thread(target=work)
t.start()
end, dropped = time.time() + 60, False
while time.time() < end and not dropped:
    try:
        s.send(hello)
    except BlockingIOError:
        time.sleep(0.01)
    except OSError:
        dropped = True	# EPIPE / ECONNRESET: the daemon gave up on us
t.join()
assert dropped, "a client that never reads was never disconnected"
assert other.get("ok"), "another client was held up"
print("stalled client dropped, the other finished")
PY

echo "== the daemon dies under a client: errors, no hang"
$PY - "$MNT" "$T/client_ready" <<'PY' &
import sys, time

from swapfs.aio import aio_handle
import numpy as np
h = aio_handle(mount=sys.argv[1], timeout=20)
buf = h.new_buffer(4 << 20)
open(sys.argv[2], "w").close()      # connected: the daemon may die now
start = time.time()
try:
    while time.time() - start < 60:
        if h.sync_pwrite(buf, sys.argv[1] + "/dying") != 1:
            print("client saw: -1 (the file could not be opened)")
            break
    else:
        sys.exit("the client never saw the daemon die")
except OSError as e:
    print("client saw:", e)
PY
CLIENT=$!
# the client connects first (a loaded machine can take seconds), then runs a while
for _ in $(seq 600); do
	[ -e "$T/client_ready" ] && break
	kill -0 "$CLIENT" 2>/dev/null || break
	sleep 0.1
done
sleep 1
crash_fs
wait $CLIENT || fail "client after the daemon died"

echo "== crash after client writes and fsync"
for round in 1 2 3; do
	mount_fs
	$PY - "$MNT" "$round" <<'PY' || fail "client writes before crash $round"
import sys, numpy as np
from swapfs.aio import aio_handle
mnt, r = sys.argv[1], int(sys.argv[2])
h = aio_handle(mount=mnt)
buf = h.new_buffer(6 << 20)
for i in range(3):
    buf[:] = np.random.default_rng(r * 10 + i).integers(0, 255, buf.size, dtype=np.uint8)
    h.sync_pwrite(buf, f"{mnt}/crash.{r}.{i}")
    h.fsync(f"{mnt}/crash.{r}.{i}")
# more writes in flight when the daemon dies: anything may happen to them
buf[:] = 1
h.async_pwrite(buf, f"{mnt}/crash.{r}.inflight")
print("written")
PY
	crash_fs
	"$builddir/tools/swapfsck" -p "$DEVS" >"$T/fsck.log" 2>&1
	[ $? -le 1 ] || { cat "$T/fsck.log"; fail "swapfsck after crash $round"; }
	mount_fs
	$PY - "$MNT" "$round" <<'PY' || fail "data after crash $round"
import sys, numpy as np
mnt, last = sys.argv[1], int(sys.argv[2])
for r in range(1, last + 1):
    for i in range(3):
        want = np.random.default_rng(r * 10 + i).integers(0, 255, 6 << 20, dtype=np.uint8)
        got = np.fromfile(f"{mnt}/crash.{r}.{i}", dtype=np.uint8)
        assert np.array_equal(got, want), f"crash.{r}.{i} lost or damaged"
PY
	umount_fs
done
"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck not clean"; }

echo "== buffers registered with the I/O threads' rings (-o client_fixed)"
mount_fs -o client_fixed
timeout 300 "$builddir/tests/client_io" "$MNT" write read unaligned errors || fail "client_io with fixed buffers"
umount_fs
echo "PASS"
