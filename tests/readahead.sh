#!/bin/sh
# readahead.sh - the mount's read-ahead window (-o read_ahead=SIZE) is in
# its bdi's read_ahead_kb once the daemon has served a request: INIT
# clamps it to 128 KiB and the daemon writes it through sysfs
# (fs/daemon/bdi.c).
set -u
. "$(dirname "$0")/lib.sh"
require_fuse
make_images 2 64M
format
mount_fs -o read_ahead=8M
mnt=$(realpath "$MNT")
bdi=$(awk -v m="$mnt" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
[ -n "$bdi" ] || fail "no mountinfo line for $mnt"
ra=/sys/class/bdi/$bdi/read_ahead_kb
[ -w "$ra" ] || { umount_fs; skip "$ra not writable here"; }
stat "$MNT" >/dev/null || fail "stat of the mount"
[ ! -e "$MNT/absent" ] || fail "absent file found"
kb=$(cat "$ra")
[ "$kb" = 8192 ] || fail "read_ahead_kb is $kb, expected 8192"
echo "read_ahead_kb $kb"
umount_fs
echo "PASS"
