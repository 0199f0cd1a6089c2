#!/bin/sh
# swapfs-demo.sh - the main job on an embedded default: 4 image files in a
# temporary folder as members, formatted, mounted on a temporary directory,
# a 1 GiB tensor file written (fsync) and read back cold through the mount
# with the bandwidth printed, the same through the zero-copy client path
# (libswapfs), then unmounted and removed.  Needs root (FUSE).
# usage: swapfs-demo.sh [BUILDDIR]
set -eu
top=${1:-.}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/swapfs-demo.XXXXXX")
mnt=$dir/mnt
pid=
cleanup() {
	if grep -q " $mnt " /proc/mounts; then umount "$mnt" || umount -l "$mnt"; fi
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir "$mnt"
members=
for i in 0 1 2 3; do
	truncate -s 1G "$dir/member$i.img"
	members="${members:+$members:}$dir/member$i.img"
done
echo "== 4 image files in $dir"
"$top/tools/swapbench" raw --devices "$members" --size 1G | sed 's/^/   /'
"$top/tools/mkswapfs" -q $(echo "$members" | tr ':' ' ')
"$top/fs/daemon/swapfs" -f "$members" "$mnt" &
pid=$!
for _ in $(seq 100); do grep -q " $mnt " /proc/mounts && break; sleep 0.05; done
echo "== mounted on $mnt"
t0=$(date +%s.%N)
dd if=/dev/urandom of="$dir/src" bs=64M count=16 status=none
t1=$(date +%s.%N)
dd if="$dir/src" of="$mnt/model.tensor" bs=64M conv=fsync status=none
t2=$(date +%s.%N)
echo 3 > /proc/sys/vm/drop_caches
t3=$(date +%s.%N)
cmp "$dir/src" "$mnt/model.tensor"
t4=$(date +%s.%N)
awk -v w="$(echo "$t2 - $t1" | bc)" -v r="$(echo "$t4 - $t3" | bc)" 'BEGIN {
	printf "   write 1024 MiB + fsync: %7.0f MiB/s\n   cold read + compare:    %7.0f MiB/s\n", 1024 / w, 1024 / r }'
echo "== 2 x 512 MiB through the zero-copy client path (libswapfs, 1 MiB requests, 32 in flight)"
"$top/tools/swapbench" client --dir "$mnt" --files 2 --file-size 512M | sed 's/^/   /'
ls -l "$mnt"
umount "$mnt"
wait "$pid"
pid=
echo "== unmounted, cleaned up"
