#!/bin/sh
# mkswapfs.sh - mkswapfs on 1, 2, 4 and 8 image files of unequal sizes,
# refusals (nothing written), and member checks when the filesystem opens.
set -u
. "$(dirname "$0")/lib.sh"
make_images 8 40M 48M 56M 40M 64M 44M 40M 52M
imgs=$(echo "$DEVS" | tr ':' ' ')

for n in 1 2 4 8; do
	set -- $imgs
	members=
	i=0
	while [ $i -lt $n ]; do members="$members $1"; shift; i=$((i + 1)); done
	out=$("$MKSWAPFS" -f -L "n$n" $members) || fail "format $n members: $out"
	echo "$out" | grep -q "$n member(s)" || fail "summary for $n: $out"
	echo "$out" | grep -q "usable capacity" || fail "no capacity in summary"
done

# re-running without --force is refused with a message, and writes nothing
set -- $imgs
before=$(cat "$1" "$2" | md5sum)
msg=$("$MKSWAPFS" "$1" "$2" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "reformat without --force: exit $rc"
echo "$msg" | grep -q "is member 0 of swapfs" || fail "message: $msg"
echo "$msg" | grep -q -- "--force" || fail "message does not mention --force: $msg"
[ "$(cat "$1" "$2" | md5sum)" = "$before" ] || fail "refused format wrote to a member"

# dry run writes nothing either
"$MKSWAPFS" -n -f "$1" "$2" >/dev/null || fail "dry run"
[ "$(cat "$1" "$2" | md5sum)" = "$before" ] || fail "dry run wrote"

# another filesystem is detected (libblkid)
if command -v mkfs.ext4 >/dev/null; then
	mkfs.ext4 -q -F "$T/m7.img" || fail "mkfs.ext4"
	msg=$("$MKSWAPFS" "$T/m7.img" 2>&1) && fail "formatted over ext4"
	echo "$msg" | grep -q "ext4" || fail "ext4 not named: $msg"
fi

# missing path, duplicate member, bad options
msg=$("$MKSWAPFS" "$T/nothere.img" 2>&1) && fail "missing image accepted"
echo "$msg" | grep -q "nothere.img" || fail "missing path not named: $msg"
msg=$("$MKSWAPFS" -f "$1" "$1" 2>&1) && fail "duplicate member accepted"
echo "$msg" | grep -q "listed twice" || fail "duplicate: $msg"
"$MKSWAPFS" -s 3M "$1" >/dev/null 2>&1; [ $? -eq 1 ] || fail "stripe unit 3M accepted"
"$MKSWAPFS" -a 2M -s 1M -f "$1" >/dev/null 2>&1; [ $? -eq 1 ] || fail "alloc unit > stripe unit accepted"
"$MKSWAPFS" -L "$(printf '%070d' 0)" "$1" >/dev/null 2>&1; [ $? -eq 2 ] || fail "long label accepted"
"$MKSWAPFS" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no devices accepted"
"$MKSWAPFS" --help | grep -q "Usage: mkswapfs" || fail "--help"

# opening: missing member, foreign member, wrong order (needs the daemon's checks)
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ]; then
	"$MKSWAPFS" -q -f "$1" "$2" "$3" || fail "format 3"
	"$MKSWAPFS" -q -f "$4" || fail "format foreign"
	msg=$("$SWAPFS" "$1:$2" "$MNT" 2>&1) && fail "mounted with a member missing"
	echo "$msg" | grep -q "missing" || fail "missing member: $msg"
	msg=$("$SWAPFS" "$1:$2:$4" "$MNT" 2>&1) && fail "mounted with a foreign member"
	echo "$msg" | grep -q "another swapfs" || fail "foreign member: $msg"
	msg=$("$SWAPFS" "$2:$1:$3" "$MNT" 2>&1) && fail "mounted in the wrong order"
	echo "$msg" | grep -q "wrong order" || fail "order: $msg"
	msg=$("$SWAPFS" "$1:$1:$3" "$MNT" 2>&1) && fail "mounted a duplicated member"
	# malformed mount options: exit 2 with a message, nothing mounted, members untouched
	sum=$(cat "$1" "$2" "$3" | md5sum)
	for o in qd=0 qd=999 io_threads=99 staging=1k staging=lots read_ahead=2G commit=0 \
		 commit=-1 attr_timeout=-1 no_such_option; do
		msg=$("$SWAPFS" -o "$o" "$1:$2:$3" "$MNT" 2>&1)
		rc=$?
		[ $rc -ne 0 ] && [ -n "$msg" ] || fail "-o $o: exit $rc, message '$msg'"
	done
	msg=$("$SWAPFS" "$1:$2:$3" 2>&1); [ $? -eq 2 ] || fail "no mountpoint: $msg"
	msg=$("$SWAPFS" "$T/nothere.img" "$MNT" 2>&1) && fail "missing device mounted"
	echo "$msg" | grep -q "nothere.img" || fail "missing device not named: $msg"
	[ "$(cat "$1" "$2" "$3" | md5sum)" = "$sum" ] || fail "a refused mount wrote to the members"
	grep -q " $MNT " /proc/mounts && fail "something got mounted"
fi
echo "1 passed, 0 failed"
