#!/bin/sh
# metafull.sh - fill the metadata area (small members: 1.5 MiB checkpoint
# slots) with empty files: creates end in ENOSPC, never a crash or a
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
import errno, os, sys
mnt, log = sys.argv[1], sys.argv[2]
closed, err = [], None
for i in range(40000):
    name = f"f{i:05d}_with_a_longish_tensor_name.swp"
    try:
        fd = os.open(os.path.join(mnt, name), os.O_CREAT | os.O_WRONLY, 0o644)
    except OSError as e:
        err = e.errno
        break
    try:
        os.close(fd)
        closed.append(name)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
assert err == errno.ENOSPC, f"expected ENOSPC, got {err}"
assert os.statvfs(mnt).f_ffree == 0
assert os.path.exists(os.path.join(mnt, closed[0]))     # still serving
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
sys.exit(1 if missing else 0)" || fail "files whose close succeeded are missing"
# removing files makes room again: the next checkpoint fits and names are accepted
$PY -c "
import os
names = open('$T/closed').read().split()
for n in names[:4000]:
    os.unlink(os.path.join('$MNT', n))
fd = os.open('$MNT', os.O_RDONLY)
os.fsync(fd)
os.close(fd)
open(os.path.join('$MNT', 'after_room'), 'w').close()" || fail "no room after removing files"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "not clean after recovery"; }
echo "1 passed, 0 failed"
