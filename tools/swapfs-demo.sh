#!/bin/sh
# swapfs-demo.sh - the main job on an embedded default: image files in a
# temporary folder as member devices, measured through the engine.
# usage: swapfs-demo.sh [BUILDDIR]  (members: 4 x 1 GiB sparse files under $TMPDIR or /var/tmp)
set -eu
top=${1:-.}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/swapfs-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
members=
for i in 0 1 2 3; do
	truncate -s 1G "$dir/member$i.img"
	members="${members:+$members:}$dir/member$i.img"
done
echo "swapfs demo: 4 image files in $dir"
"$top/tools/swapbench" raw --devices "$members" --size 2G
