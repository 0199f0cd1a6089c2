#!/bin/sh
# metafull_dirs.sh - a full metadata area must not destroy directories
# (issue 12, item 1) and df -i must match the table (item 10).
# Four 64 MiB members (1.5 MiB checkpoint slots); nested directories, a
# fsync'd file, then files with 200-byte names until ENOSPC.  While still
# mounted swapfsck -n finds no lost links; unmount writes its final
# checkpoint; the volume mounts again with every acknowledged name in its
# directory and nothing in lost+found; removals make room again.
# statfs: f_files - f_ffree is the number of inodes in the table, and
# f_ffree says what still fits.  Then the same fill ended by kill -9:
# swapfsck -p repairs it (it can write its table) and every name is there.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
# remount_names WHAT: mount, then the Python on stdin, once every name listed
# in $T/names is found under the mount (it has errno, os, sys, mnt, log, names)
NAMES_PRESENT='import errno, os, sys
mnt, log = sys.argv[1], sys.argv[2]
names = open(log).read().split()
missing = [n for n in names if not os.path.exists(os.path.join(mnt, n))]
assert not missing, f"{len(missing)} acknowledged names missing, e.g. {missing[:3]}"
'
remount_names() {
	mount_fs
	$PY -c "$NAMES_PRESENT$(cat)" "$MNT" "$T/names" || fail "$1"
}
make_images 4 64M
format
mount_fs
$PY - "$MNT" "$T/names" <<'PYEOF' || fail "filling the metadata area"
import errno, os, sys
mnt, log = sys.argv[1], sys.argv[2]
dirs = ["d", "d/sub", "d/sub/deeper", "e"]
for d in dirs:
    os.mkdir(os.path.join(mnt, d))
with open(os.path.join(mnt, "d/important"), "w") as f:
    f.write("keep\n")
    f.flush()
    os.fsync(f.fileno())

def inodes():	# what the table holds: root, the directories, the files
    return 1 + len(dirs) + 1 + len(names)

def check_df(when):
    sv = os.statvfs(mnt)
    used = sv.f_files - sv.f_ffree
    assert used == inodes(), f"{when}: df -i says {used} inodes used, the table holds {inodes()}"

names = []
check_df("empty")
i = 0
while True:
    d = dirs[i % len(dirs)]
    n = os.path.join(d, f"{i:06d}_" + "n" * 193)
    assert len(os.path.basename(n)) == 200
    try:
        fd = os.open(os.path.join(mnt, n), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
        break
    try:
        os.close(fd)
    except OSError as e:	# the create was acknowledged: its close must not fail
        assert e.errno == errno.ENOSPC, e
        open(log + ".close_failed", "w").write(n)
        break
    names.append(n)
    i += 1
    if i % 1000 == 0:
        check_df(f"{i} files")
assert len(names) > 1000, f"only {len(names)} files fit"
if os.path.exists(log + ".close_failed"):
    names.append(n)	# acknowledged by the create
else:
    check_df("full")
assert os.statvfs(mnt).f_ffree < 10, f"full, but {os.statvfs(mnt).f_ffree} inodes free"
# everything acknowledged is on disk now: commit it
fd = os.open(mnt, os.O_RDONLY)
try:
    os.fsync(fd)
except OSError as e:
    print(f"fsync of the root: {e}")
os.close(fd)
open(log, "w").write("\n".join(names))
print(f"{len(names)} files with 200-byte names before ENOSPC")
PYEOF
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" 2>&1 ||
	{ cat "$T/fsck.out"; fail "swapfsck -n while mounted: the table on disk lost names"; }
umount_fs
grep "checkpoint failed" "$T/daemon.log" && fail "unmount could not write its final checkpoint"
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "not clean after unmount"; }
[ -e "$T/names.close_failed" ] && fail "close of an acknowledged create failed: $(cat "$T/names.close_failed")"
remount_names "after remount" <<'PYEOF'
assert open(os.path.join(mnt, "d/important")).read() == "keep\n"
assert not os.path.exists(os.path.join(mnt, "lost+found")) or not os.listdir(os.path.join(mnt, "lost+found"))
sv = os.statvfs(mnt)
assert sv.f_files - sv.f_ffree == 1 + 4 + 1 + len(names), "df -i after remount"
# still full for new names, readable, and removals make room again
try:
    open(os.path.join(mnt, "e", "x" * 200), "w").close()
    raise AssertionError("a new 200-byte name was accepted on a full metadata area")
except OSError as e:
    assert e.errno == errno.ENOSPC, e
for n in names[:1000]:
    os.unlink(os.path.join(mnt, n))
sv = os.statvfs(mnt)
# a removed inode the kernel still holds (until its FORGET) is in the table too
used, left = sv.f_files - sv.f_ffree, 1 + 4 + 1 + len(names) - 1000
assert left <= used <= left + 1000, f"df -i after removals: {used} used, {left} named"
assert sv.f_ffree >= 500, f"1000 files removed but only {sv.f_ffree} inodes free"
for k in range(500):
    open(os.path.join(mnt, "e", f"again{k}"), "w").close()
PYEOF
umount_fs
grep "checkpoint failed" "$T/daemon.log" && fail "unmount could not write its final checkpoint"
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "not clean at the end"; }

# a full metadata area, then kill -9: swapfsck -p recovers it
format -f
mount_fs
$PY - "$MNT" "$T/names" <<'PYEOF' || fail "filling the metadata area before a crash"
import errno, os, sys
mnt, log = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(mnt, "a/b"))
names, i = [], 0
while True:
    n = f"a/b/{i:06d}_" + "y" * 150
    try:
        fd = os.open(os.path.join(mnt, n), os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
        break
    names.append(n)
    i += 1
for n in names[:50]:	# records into the log of a full area
    os.unlink(os.path.join(mnt, n))
fd = os.open(mnt, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
open(log, "w").write("\n".join(names[50:]))
PYEOF
crash_fs
"$builddir/tools/swapfsck" -p "$DEVS" > "$T/fsck.out" 2>&1
rc=$?
[ $rc -le 1 ] || { cat "$T/fsck.out"; fail "swapfsck -p exited $rc after a crash of a full metadata area"; }
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "not clean after swapfsck -p"; }
remount_names "after the crash" <<'PYEOF'
assert not os.path.exists(os.path.join(mnt, "lost+found"))
PYEOF
umount_fs
echo "1 passed, 0 failed"
