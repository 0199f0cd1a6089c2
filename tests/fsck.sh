#!/bin/sh
# fsck.sh - swapfsck on damaged images, e2fsprogs style.  Each tests/f_CASE
# folder is one case, its `name` saying what it damages: a fresh filesystem
# is populated and damaged that way (fsck_corrupt CASE), then swapfsck's
# output, ended by "Exit status is N", must be
#   expect.1        of swapfsck -y
#   expect.2        of swapfsck -n after it
# and where the folder has them, each on a fresh damage:
#   expect.preen.1  of swapfsck -p (what a crash leaves it fixes, exit 1;
#                   anything else it leaves, exit 4)
#   expect.preen.2  of swapfsck -n after it
#   expect.mount    what the daemon does with the damage: the names in the
#                   mounted root (swapfsck -n must be clean after the
#                   unmount), or "refused: run swapfsck" (root, /dev/fuse and
#                   fusermount3 needed, skipped without them)
# Then --json, the refusal of bad usage, and random byte damage that must
# not crash swapfsck.
set -u
. "$(dirname "$0")/lib.sh"
FSCK=$builddir/tools/swapfsck
CORRUPT=$builddir/tests/fsck_corrupt
src=$(cd "$(dirname "$0")" && pwd)
make_images 2 40M 48M
# fresh [CASE]: a new populated filesystem, damaged as CASE says
fresh() {
	"$MKSWAPFS" -q -f -U 6b1c0c1e-8a2e-4b5f-9d6a-2f5e3c4d5e6f $(echo "$DEVS" | tr ':' ' ') || fail "mkswapfs"
	"$CORRUPT" "$DEVS" populate || fail "populate"
	[ -z "${1:-}" ] || "$CORRUPT" "$DEVS" "$1" || fail "corrupt $1"
}
# run_fsck EXPECT OPTION: swapfsck OPTION's output and exit status are EXPECT
run_fsck() {
	"$FSCK" "$2" "$DEVS" > "$T/out" 2>&1
	echo "Exit status is $?" >> "$T/out"
	diff -u "$1" "$T/out" || fail "$tc: swapfsck $2: not $(basename "$1")"
}
# mount_case EXPECT: what the daemon does with the damage is EXPECT
mount_case() {
	"$SWAPFS" -f "$DEVS" "$MNT" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 600); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		grep -q " $MNT " /proc/mounts && break
		sleep 0.05
	done
	if grep -q " $MNT " /proc/mounts; then
		ls "$MNT" > "$T/out"
		umount_fs
		"$FSCK" -n "$DEVS" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "$tc: not clean after a mount"; }
	else
		kill -0 "$DAEMON_PID" 2>/dev/null && fail "$tc: the daemon neither mounted nor exited"
		wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
		if [ $rc -ne 0 ] && grep -q "run swapfsck" "$T/daemon.log"; then
			echo "refused: run swapfsck" > "$T/out"
		else
			{ echo "daemon exit $rc:"; cat "$T/daemon.log"; } > "$T/out"
		fi
	fi
	rm -f "$T/daemon.log"
	diff -u "$1" "$T/out" || fail "$tc: the daemon on the damage: not expect.mount"
}
can_mount=
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && can_mount=1
[ -n "$can_mount" ] || echo "SKIP (partly): expect.mount needs root, /dev/fuse and fusermount3"
pass=0
for dir in "$src"/f_*/; do
	dir=${dir%/}
	tc=$(basename "$dir")
	[ -s "$dir/name" ] || fail "$tc: no name file"
	fresh "${tc#f_}"
	run_fsck "$dir/expect.1" -y
	run_fsck "$dir/expect.2" -n
	if [ -f "$dir/expect.preen.1" ]; then
		fresh "${tc#f_}"
		run_fsck "$dir/expect.preen.1" -p
		run_fsck "$dir/expect.preen.2" -n
	fi
	if [ -f "$dir/expect.mount" ] && [ -n "$can_mount" ]; then
		fresh "${tc#f_}"
		mount_case "$dir/expect.mount"
	fi
	echo "$tc: $(cat "$dir/name"): ok"
	pass=$((pass + 1))
done

fresh nlink
"$FSCK" -n --json "$DEVS" | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j["problems"][0]["code"]==0x305, j' ||
	fail "--json"

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
