#!/bin/sh
# metafull.sh - fill the metadata area (small members: 1.5 MiB checkpoint
# slots) with empty files from four creators at once while a fifth thread
# writes data: creates end in ENOSPC, never a crash or a
# corrupt table; the daemon keeps serving; after unmount swapfsck is clean
# and every file whose close succeeded is there; removals make room again.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
make_images 2 64M 64M
format
mount_fs
$PY - "$MNT" "$T/closed" <<'PYEOF' || fail "filling the metadata area"
import errno, os, sys, threading
mnt, log = sys.argv[1], sys.argv[2]
closed, errs, lock = [], [], threading.Lock()

def creator(t):	# four at once: the area fills under concurrent creates
    for i in range(40000):
        name = f"f{t}_{i:05d}_with_a_longish_tensor_name.swp"
        try:
            fd = os.open(os.path.join(mnt, name), os.O_CREAT | os.O_WRONLY, 0o644)
        except OSError as e:
            with lock:
                errs.append(e.errno)
            return
        try:
            os.close(fd)
            with lock:
                closed.append(name)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e

def writer():	# and a data writer, whose new extents need records too
    data = b"d" * (1 << 20)
    with open(os.path.join(mnt, "data.bin"), "wb") as f:
        for _ in range(24):
            f.write(data)
    with lock:
        closed.append("data.bin")

ts = [threading.Thread(target=creator, args=(t,)) for t in range(4)] + [threading.Thread(target=writer)]
for t in ts: t.start()
for t in ts: t.join()
assert errs == [errno.ENOSPC] * 4, f"expected ENOSPC for every creator, got {errs}"
assert os.statvfs(mnt).f_ffree == 0
assert os.path.exists(os.path.join(mnt, closed[0]))     # still serving
if "data.bin" in closed:
    assert open(os.path.join(mnt, "data.bin"), "rb").read() == b"d" * (24 << 20)
open(log, "w").write("\n".join(closed))
print(f"{len(closed)} files before the metadata area was full")
PYEOF
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "not clean"; }
mount_fs
$PY -c "
import os, sys
names = open('$T/closed').read().split()
missing = [n for n in names if not os.path.exists(os.path.join('$MNT', n))]
if 'data.bin' in names and open('$MNT/data.bin', 'rb').read() != b'd' * (24 << 20):
    missing.append('data.bin (content)')
sys.exit(1 if missing else 0)" || fail "files whose close succeeded are missing"
# removing files makes room again: the next checkpoint fits and names are accepted
$PY -c "
import os
names = open('$T/closed').read().split()
for n in [n for n in names if n != 'data.bin'][:4000]:
    os.unlink(os.path.join('$MNT', n))
fd = os.open('$MNT', os.O_RDONLY)
os.fsync(fd)
os.close(fd)
open(os.path.join('$MNT', 'after_room'), 'w').close()" || fail "no room after removing files"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "not clean after recovery"; }
echo "1 passed, 0 failed"
