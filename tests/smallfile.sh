#!/bin/sh
# smallfile.sh - what small-file operations cost, counted (never timed):
# the FUSE requests by opcode and the member writes and flushes of the
# stats xattr, before and after each operation (docs/PERFORMANCE.md,
# "Small files: where the time goes").
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
make_images 4 256M
format
# nothing times out between the steps; no background commit
mount_fs -o attr_timeout=3600,commit=3600

# count.py MNT: each check runs an operation and asserts on its counts
cat >"$T/count.py" <<'PY'
import json, os, sys
mnt = sys.argv[1]
d = os.path.join(mnt, "d")
bad = []

def stats():
    return json.loads(os.getxattr(mnt, "swapfs.stats"))

def counts(fn):
    """Requests by opcode and member totals that fn caused (the stats read excluded)."""
    s0 = stats()
    fn()
    s1 = stats()
    req = {k: v - s0["requests"].get(k, 0) for k, v in s1["requests"].items()}
    req["GETXATTR"] -= STATS_READ	# the second stats read
    req = {k: v for k, v in req.items() if v}
    tot = lambda s, key: sum(m[key] for m in s["members"])
    dev = {k: tot(s1, k) - tot(s0, k) for k in ("writes", "flushes")}
    dev["commits"] = s1["commits"] - s0["commits"]
    return req, dev

STATS_READ = 0	# GETXATTRs of one stats read (Python asks again with a larger buffer)
STATS_READ = counts(lambda: None)[0].get("GETXATTR", 0)

def check(what, cond, seen):
    if not cond:
        bad.append(f"{what}: {seen}")

if sys.argv[2] == "listing":
    with open(f"{mnt}/d/db", "rb") as f:
        db = f.read()
    want = bytearray(b"w" * (1 << 20) + b"e" * 512)
    want[4096:8192] = b"q" * 4096
    want[8192:12288] = b"o" * 4096
    check("fdatasync'd file after kill -9", db == bytes(want), (len(db), db[4096:4106], db[8192:8202]))
    # after a remount (nothing cached): ls -l sends no LOOKUP per name
    os.stat(f"{mnt}/l")	# the path to l looked up
    req, dev = counts(lambda: [e.stat() for e in os.scandir(f"{mnt}/l")])
    names = sorted(os.listdir(f"{mnt}/l"))
    check("ls -l: entries come with their attributes", "READDIRPLUS" in req and
          req.get("LOOKUP", 0) == 0 and req.get("GETATTR", 0) <= 1, req)	# the directory's atime
    check("ls -l: names", names == [f"f{i:02d}" for i in range(40)], names)
    req, dev = counts(lambda: [os.stat(f"{mnt}/l/f{i:02d}").st_size for i in range(40)])
    check("stat after ls -l: cached", not req, req)
    open(f"{mnt}/l/new", "w").close()
    os.unlink(f"{mnt}/l/f00")
    names = set(os.listdir(f"{mnt}/l"))
    check("a listing after create and unlink", "new" in names and "f00" not in names, names)
    check("sizes", all(i == 0 or os.stat(f"{mnt}/l/f{i:02d}").st_size == i for i in range(40)), "wrong")
    if bad:
        print("\n".join(bad))
        sys.exit(1)
    sys.exit(0)

os.mkdir(f"{mnt}/l")
for i in range(40):
    with open(f"{mnt}/l/f{i:02d}", "wb") as f:
        f.write(b"s" * i)
os.mkdir(d)
req, dev = counts(lambda: os.close(os.open(f"{d}/a", os.O_CREAT | os.O_WRONLY, 0o644)))
check("create counted", req.get("CREATE") == 1, req)

# a name looked up and missing is remembered: the create that follows sends no LOOKUP
check("missing name", not os.path.exists(f"{d}/b"), "exists")
req, dev = counts(lambda: os.close(os.open(f"{d}/b", os.O_CREAT | os.O_WRONLY, 0o644)))
check("create after a failed lookup: no LOOKUP", "LOOKUP" not in req and req.get("CREATE") == 1, req)
check("the created name is seen", os.path.exists(f"{d}/b") and "b" in os.listdir(d), "missing")

# close of a read-only open writes nothing, even with other records pending
os.chmod(f"{d}/a", 0o600)
req, dev = counts(lambda: os.close(os.open(f"{d}/b", os.O_RDONLY)))
check("read-only open + close: no log write", dev == {"writes": 0, "flushes": 0, "commits": 0}, dev)
# ... a writable one commits them (close survives a crash of the daemon)
req, dev = counts(lambda: os.close(os.open(f"{d}/b", os.O_WRONLY)))
check("writable open + close: log written", dev["commits"] == 1, dev)

# fsync: a member is flushed only when something was written to it since
# its last flush (the data's member, the log's mirrors); none when clean
fd = os.open(f"{d}/db", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"w" * (1 << 20))
os.fsync(fd)
req, dev = counts(lambda: (os.pwrite(fd, b"p" * 512, 4096), os.fsync(fd)))
check("512 B pwrite + fsync flushes the written members", 1 <= dev["flushes"] <= 3, dev)
req, dev = counts(lambda: os.fsync(fd))
check("fsync with nothing written flushes nothing", dev["flushes"] == 0, dev)

# fdatasync of an overwrite in place (size and extents already in the
# durable log): the data's member flushed, no log write for the times
req, dev = counts(lambda: (os.pwrite(fd, b"o" * 4096, 8192), os.fdatasync(fd)))
check("overwrite + fdatasync: no log write", dev["commits"] == 0 and dev["writes"] == 1 and
      dev["flushes"] == 1, dev)
# ... but a size the log does not have yet is written and flushed
req, dev = counts(lambda: (os.pwrite(fd, b"e" * 512, 1 << 20), os.fdatasync(fd)))
check("extending write + fdatasync: logged", dev["commits"] == 1 and dev["flushes"] >= 2, dev)
os.pwrite(fd, b"q" * 4096, 4096)
os.fdatasync(fd)	# the test then kills the daemon: size and bytes must be there
os.close(fd)
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
$PY "$T/count.py" "$MNT" ops || fail "small-file counts"
crash_fs
mount_fs -o attr_timeout=3600
$PY "$T/count.py" "$MNT" listing || fail "small-file counts after a remount"
umount_fs
echo PASS
