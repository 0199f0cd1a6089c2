#!/bin/sh
# metafull_crash.sh - metadata-full torture (issue 12, item 1 acceptance):
# two 64 MiB members (1.5 MiB checkpoint slots, 4 KiB allocation units); four creators make files
# (some with 200-byte names, some with data) in nested directories until
# the metadata area is full, then remove some of their files and go on;
# the daemon is killed with kill -9 while they run, round after round.
# After each crash swapfsck -p (or the mount itself, every other round)
# recovers the volume: -p must be able to write its table, swapfsck -n is
# clean after it, every name whose close returned (and that its creator did
# not start to remove) is there with its content, and nothing is in
# lost+found.  STRESS_SCALE=N makes N times as many rounds.
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
scale=${STRESS_SCALE:-1}
rounds=$((6 * scale))
make_images 2 64M
format -a 4k	# small files use little data space: the metadata area fills first
FSCK=$builddir/tools/swapfsck
: > "$T/acked"

# creators: writes "C path" after a close returned 0, "U path" before an unlink
cat > "$T/creator.py" <<'PYEOF'
import errno, os, random, sys, threading
mnt, rnd, log, full, acked = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
stop = threading.Event()
# the files of earlier rounds, oldest first: the creators remove them to make room
earlier, gone = [], set()
for line in open(acked):
    op, path = line.rstrip("\n").split(" ", 1)
    (earlier.append(path) if op == "C" else gone.add(path))
earlier = [p for p in earlier if p not in gone]

def content(path):
    return (path.encode() * 8)[:random.Random(path).choice([0, 0, 0, 100, 5000, 20000])]

def creator(t):
    rng = random.Random(rnd * 100 + t)
    out = open(f"{log}.{t}", "w", buffering=1)
    mine = earlier[t::4]
    dirs = []
    k = 0
    while not stop.is_set():
        try:
            if k % 200 == 0 or not dirs:	# a new nested directory now and then
                d = f"r{rnd}/t{t}/n{k}/deeper"
                os.makedirs(os.path.join(mnt, d), exist_ok=True)
                dirs.append(d)
            name = f"{k:05d}_" + "x" * rng.choice([10, 60, 193])
            path = os.path.join(rng.choice(dirs), name)
            data = content(path)
            fd = os.open(os.path.join(mnt, path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            try:
                if data:
                    os.write(fd, data)
            finally:
                os.close(fd)
            out.write(f"C {path}\n")
            mine.append(path)
            k += 1
        except OSError as e:
            if e.errno != errno.ENOSPC:
                return	# the daemon is gone
            open(full, "w").close()
            for p in mine[:40]:	# make room and go on
                out.write(f"U {p}\n")
                try:
                    os.unlink(os.path.join(mnt, p))
                except OSError as e2:
                    if e2.errno != errno.ENOENT:
                        return
            del mine[:40]
            k += 1

def run(t):
    try:
        creator(t)
    except Exception as e:	# a bug of the test, not a daemon that went away
        open(f"{log}.error", "a").write(f"creator {t}: {e!r}\n")
        raise

ts = [threading.Thread(target=run, args=(t,)) for t in range(4)]
for t in ts: t.start()
for t in ts: t.join()
PYEOF

# verify: every acknowledged name is there with its content, lost+found empty
cat > "$T/verify.py" <<'PYEOF'
import os, random, sys
mnt, acked = sys.argv[1], sys.argv[2]
created, removed = [], set()
for line in open(acked):
    op, path = line.split(" ", 1)
    path = path.rstrip("\n")
    (created.append(path) if op == "C" else removed.add(path))
bad = []
for p in created:
    if p in removed:
        continue
    want = (p.encode() * 8)[:random.Random(p).choice([0, 0, 0, 100, 5000, 20000])]
    try:
        got = open(os.path.join(mnt, p), "rb").read()
    except OSError as e:
        bad.append(f"{p}: {e}")
        continue
    if got != want:
        bad.append(f"{p}: {len(got)} bytes, not the {len(want)} written")
lf = os.path.join(mnt, "lost+found")
if os.path.exists(lf) and os.listdir(lf):
    bad.append(f"lost+found holds {len(os.listdir(lf))} entries")
for b in bad[:10]:
    print(b)
print(f"{len(created)} names acknowledged, {len(removed)} removed, {len(bad)} bad")
sys.exit(1 if bad else 0)
PYEOF

r=0
while [ $r -lt "$rounds" ]; do
	mount_fs
	rm -f "$T/full" "$T/log".[0-9] "$T/log.error"
	$PY "$T/creator.py" "$MNT" $r "$T/log" "$T/full" "$T/acked" &
	cpid=$!
	# kill the daemon once the area has been full (from round 1 on it is
	# nearly full from the start), at a point that differs from round to round
	while [ ! -e "$T/full" ] && kill -0 $cpid 2>/dev/null; do sleep 0.1; done
	[ -e "$T/full" ] || { wait $cpid; fail "round $r: the creators ended before the metadata area was full"; }
	sleep "$(awk -v r=$r 'BEGIN { srand(r); printf "%.2f", rand() * 1.5 }')"
	crash_fs
	wait $cpid
	[ -e "$T/log.error" ] && fail "round $r: $(cat "$T/log.error")"
	cat "$T/log".[0-9] >> "$T/acked"
	if [ $((r % 2)) -eq 0 ]; then
		"$FSCK" -p "$DEVS" > "$T/fsck.out" 2>&1
		rc=$?
		[ $rc -le 1 ] || { cat "$T/fsck.out"; fail "round $r: swapfsck -p exited $rc after a crash"; }
		"$FSCK" -n "$DEVS" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "round $r: not clean after swapfsck -p"; }
	fi
	mount_fs
	$PY "$T/verify.py" "$MNT" "$T/acked" || fail "round $r: acknowledged names lost"
	umount_fs
	grep "checkpoint failed" "$T/daemon.log" && fail "round $r: a checkpoint failed"
	"$FSCK" -n "$DEVS" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "round $r: not clean after unmount"; }
	r=$((r + 1))
done
echo "$rounds rounds; 1 passed, 0 failed"
