#!/bin/sh
# fsck.sh - swapfsck on damaged images, e2fsprogs style: for each tests/f_NAME
# a fresh filesystem is populated and damaged one way (fsck_corrupt NAME);
# `swapfsck -y` must print expect.1 and exit 1, a second `swapfsck -n` must
# print expect.2 and exit 0.  Then -p on crash leftovers, the refusal to
# repair a mounted filesystem, and random byte damage that must not crash.
set -u
. "$(dirname "$0")/lib.sh"
FSCK=$builddir/tools/swapfsck
CORRUPT=$builddir/tests/fsck_corrupt
src=$(cd "$(dirname "$0")" && pwd)
make_images 2 40M 48M
fresh() {
	"$MKSWAPFS" -q -f -U 6b1c0c1e-8a2e-4b5f-9d6a-2f5e3c4d5e6f $(echo "$DEVS" | tr ':' ' ') || fail "mkswapfs"
	"$CORRUPT" "$DEVS" populate || fail "populate"
}
pass=0
for dir in "$src"/f_*/; do
	name=$(basename "$dir"); name=${name#f_}
	fresh
	"$CORRUPT" "$DEVS" "$name" || fail "corrupt $name"
	"$FSCK" -y "$DEVS" > "$T/out.1" 2>&1; rc=$?
	[ $rc -eq 1 ] || { cat "$T/out.1"; fail "$name: first run exit $rc, want 1"; }
	diff -u "$dir/expect.1" "$T/out.1" || fail "$name: first run output"
	"$FSCK" -n "$DEVS" > "$T/out.2" 2>&1; rc=$?
	[ $rc -eq 0 ] || { cat "$T/out.2"; fail "$name: second run exit $rc, want 0"; }
	diff -u "$dir/expect.2" "$T/out.2" || fail "$name: second run output"
	pass=$((pass + 1))
done

# -p fixes what a crash leaves, and only that
fresh; "$CORRUPT" "$DEVS" log_torn
"$FSCK" -p "$DEVS" >/dev/null; [ $? -eq 1 ] || fail "-p on a torn log"
fresh; "$CORRUPT" "$DEVS" orphan_dir
"$FSCK" -p "$DEVS" >/dev/null; [ $? -eq 1 ] || fail "-p on a removed directory the kernel held at a crash"
fresh; "$CORRUPT" "$DEVS" nlink
"$FSCK" -p "$DEVS" >/dev/null; [ $? -eq 4 ] || fail "-p on a wrong link count must leave it (exit 4)"
"$FSCK" -n --json "$DEVS" | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j["problems"][0]["code"]==0x305, j' ||
	fail "--json"
# Damaged checkpoints and logs (docs/RELIABILITY.md): damage that loses metadata a
# checkpoint or a later commit held is no crash leftover.  -n and -p report it
# (exit 4), -p writes nothing, and the daemon refuses to mount past it.
can_mount=
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && can_mount=1
[ -n "$can_mount" ] || echo "SKIP (partly): mount checks need root, /dev/fuse and fusermount3"
refuses_mount() {
	"$SWAPFS" -f "$DEVS" "$MNT" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 600); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		grep -q " $MNT " /proc/mounts && break
		sleep 0.05
	done
	if grep -q " $MNT " /proc/mounts; then
		umount_fs
		fail "$1: the daemon mounted past the damage"
	fi
	wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
	[ $rc -ne 0 ] || fail "$1: the daemon exited 0 without mounting"
	grep -q "run swapfsck" "$T/daemon.log" || { cat "$T/daemon.log"; fail "$1: no 'run swapfsck' in the daemon's message"; }
	rm -f "$T/daemon.log"
}
for name in ckpt_lost ckpt_unreadable ckpt_partial log_corrupt; do
	fresh; "$CORRUPT" "$DEVS" $name || fail "corrupt $name"
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 4 ] || { cat "$T/out"; fail "$name: -n exit $rc, want 4"; }
	"$FSCK" -p "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 4 ] || { cat "$T/out"; fail "$name: -p exit $rc, want 4"; }
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 4 ] || { cat "$T/out"; fail "$name: -p wrote something (-n after it: exit $rc)"; }
	[ -z "$can_mount" ] || refuses_mount $name
done
# crash leftovers: a torn last commit, an interrupted checkpoint.  The daemon mounts
# with everything the log holds before the tear; -p fixes them (exit 1).
for name in log_tail ckpt_torn; do
	if [ -n "$can_mount" ]; then
		fresh; "$CORRUPT" "$DEVS" $name || fail "corrupt $name"
		mount_fs
		case $name in
		log_tail) want="b c1 c2 d l" ;;
		ckpt_torn) want="after b d l" ;;
		esac
		got=$(ls "$MNT" | tr '\n' ' '); got=${got% }
		[ "$got" = "$want" ] || fail "$name: mounted tree '$got', want '$want'"
		umount_fs
		"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "$name: not clean after a mount"; }
	fi
	fresh; "$CORRUPT" "$DEVS" $name || fail "corrupt $name"
	"$FSCK" -p "$DEVS" >"$T/out" 2>&1; rc=$?
	[ $rc -eq 1 ] || { cat "$T/out"; fail "$name: -p exit $rc, want 1"; }
	"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "$name: not clean after -p"; }
done

# usage
"$FSCK" -n -y "$DEVS" >/dev/null 2>&1; [ $? -eq 16 ] || fail "-n -y accepted"
"$FSCK" >/dev/null 2>&1; [ $? -eq 16 ] || fail "no device accepted"
"$FSCK" -n "$T/none.img:$T/m1.img" >/dev/null 2>&1; [ $? -eq 8 ] || fail "missing member not an operational error"

# random damage to the metadata area never crashes swapfsck (sanitizer builds catch the rest)
i=0
while [ $i -lt ${FSCK_FUZZ:-25} ]; do
	fresh
	$PY - "$T/m0.img" "$T/m1.img" $i <<'PYEOF'
import random, sys
rnd = random.Random(int(sys.argv[3]))
for path in sys.argv[1:3]:
    with open(path, "r+b") as f:
        for _ in range(rnd.randint(1, 40)):
            off = rnd.choice([rnd.randrange(0, 8192), rnd.randrange(65536, 65536 + 4096),
                              rnd.randrange(1 << 20, 5 << 20)])
            f.seek(off)
            f.write(bytes([rnd.randrange(256)]))
PYEOF
	"$FSCK" -y "$DEVS" >/dev/null 2>&1; rc=$?
	[ $rc -lt 64 ] || fail "swapfsck crashed on damaged image $i (exit $rc)"
	if [ $((rc & 8)) -eq 0 ]; then
		"$FSCK" -n "$DEVS" >"$T/out" 2>&1 || { cat "$T/out"; fail "damage $i: not clean after -y"; }
	fi
	i=$((i + 1))
done
echo "$pass cases"
echo "1 passed, 0 failed"
