#!/bin/sh
# ds_aio.sh - swapfs.aio as a drop-in for DeepSpeed's async I/O op: the
# shim loaded the way DeepSpeed's swappers load it, a port of DeepSpeed's
# own aio unit tests on the mount and on another filesystem, and the
# mismatches of issue 16 (tests/ds_aio.py).
. "$(dirname "$0")/lib.sh"
require_fuse
[ -f "$builddir/fs/client/python/swapfs/_aio.so" ] || skip "swapfs.aio not built (no Python headers)"
$PY -c "import torch, numpy" 2>/dev/null || skip "no torch/numpy for $PY"
export PYTHONPATH="$builddir/fs/client/python:$(cd "$(dirname "$0")/.." && pwd)/fs/client/python"
make_images 4 64M
format
mount_fs
mkdir "$T/other"
timeout 600 $PY "$(dirname "$0")/ds_aio.py" "$MNT" "$T/other" || fail "ds_aio.py"
umount_fs
"$builddir/tools/swapfsck" -n "$DEVS" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log"; fail "swapfsck"; }
echo "PASS"
