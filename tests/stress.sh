#!/bin/sh
# stress.sh - torture suites against a mount, CI-sized by default
# (STRESS_SCALE=10 for a long run): the fsx-style verifier (buffered,
# O_DIRECT, mmap, truncate, fallocate), stress-ng filesystem stressors with
# --verify, fio with verify=crc32c over a mixed workload, an fsstress-style
# namespace torture (also killed midway); swapfsck must find the filesystem
# clean and the tree must survive a remount.  Above scale 1 it also runs
# 50 * STRESS_SCALE rounds of tests/crash_rounds.sh (kill -9, swapfsck -n).
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
[ -x "$PY" ] || skip "no $PY"
scale=${STRESS_SCALE:-1}
make_images 2 $((256 * scale))M $((256 * scale))M	# sparse: room for the scaled fio runs
format
mount_fs -o io_threads=2	# files spread over two I/O threads
for seed in 1 2; do
	$PY "$(dirname "$0")/fsx.py" "$MNT" $((3000 * scale)) $seed | tail -2 | head -1 ||
		fail "fsx seed $seed"
done
$PY "$(dirname "$0")/fsx.py" "$MNT" $((3000 * scale)) 3 >/dev/null || fail "fsx seed 3"
if command -v stress-ng >/dev/null; then
	mkdir "$MNT/sn"
	for s in "--hdd 2 --hdd-bytes 8M --hdd-ops $((300 * scale)) --verify" \
		 "--dentry 1 --dentry-ops $((200 * scale))" \
		 "--rename 1 --rename-ops $((2000 * scale))" \
		 "--fallocate 1 --fallocate-bytes 8M --fallocate-ops $((200 * scale))" \
		 "--dir 1 --dir-ops $((200 * scale))"; do
		# shellcheck disable=SC2086
		stress-ng $s --temp-path "$MNT/sn" --timeout 120 >"$T/sn.log" 2>&1 ||
			{ cat "$T/sn.log"; fail "stress-ng $s"; }
		echo "stress-ng $s: ok"
	done
	rm -rf "$MNT/sn"
else
	echo "stress-ng not installed: skipped"
fi
if command -v fio >/dev/null; then
	fio --name=mixed --directory="$MNT" --size=$((48 * scale))M --rw=randrw --bsrange=4k-1M \
	    --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --ioengine=psync --numjobs=2 \
	    --output="$T/fio1.log" >/dev/null 2>&1 || { cat "$T/fio1.log"; fail "fio verify (buffered)"; }
	fio --name=aio --directory="$MNT" --size=$((64 * scale))M --rw=randwrite --bs=1M --iodepth=16 \
	    --ioengine=libaio --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
	    --output="$T/fio2.log" >/dev/null 2>&1 || { cat "$T/fio2.log"; fail "fio verify (O_DIRECT libaio)"; }
	echo "fio verify=crc32c: ok"
fi
# fsstress-style namespace torture: 4 processes on one tree, then the tree
# must look the same after an unmount, a clean swapfsck and a remount
FSS="$(dirname "$0")/fsstress.py"
mkdir "$MNT/fss"
$PY "$FSS" "$MNT/fss" $((1500 * scale)) 4 1 snapshot "$T/tree.before" | tail -1 || fail "fsstress"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "not clean after the torture"; }
mount_fs
$PY "$FSS" "$MNT/fss" 0 1 1 snapshot "$T/tree.after" >/dev/null || fail "fsstress tree after remount"
diff "$T/tree.before" "$T/tree.after" >/dev/null ||
	{ diff "$T/tree.before" "$T/tree.after" | head; fail "the tree changed across a remount"; }
# and killed in the middle of it: swapfsck -p repairs only crash leftovers, every file is its own
$PY "$FSS" "$MNT/fss" $((100000 * scale)) 4 2 >/dev/null 2>&1 &
FSS_PID=$!
sleep 3
crash_fs
wait $FSS_PID 2>/dev/null
"$builddir/tools/swapfsck" -p "$DEVS" > "$T/fsck.out" 2>&1
[ $? -le 1 ] || { cat "$T/fsck.out"; fail "swapfsck -p after killing the daemon under fsstress"; }
"$builddir/tools/swapfsck" -n "$DEVS" > "$T/fsck.out" || { cat "$T/fsck.out"; fail "not clean after repair"; }
mount_fs
$PY "$FSS" "$MNT/fss" 0 1 1 >/dev/null || fail "a file holds foreign bytes after the crash"
umount_fs
# the long form of the crash rounds (tests/crash_rounds.sh runs a few in make check)
if [ "$scale" -gt 1 ]; then
	CRASH_ROUNDS=$((50 * scale)) sh "$(dirname "$0")/crash_rounds.sh" > "$T/rounds.log" 2>&1; rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 77 ] || { tail -40 "$T/rounds.log"; fail "crash rounds"; }
	grep "crash rounds clean" "$T/rounds.log"
fi
echo "1 passed, 0 failed"
