#!/bin/sh
# libswapfs_abi.sh - the shared library libswapfs.so.0.1: its soname is
# libswapfs.so.0, it exports exactly the functions libswapfs.h declares
# (fs/client/libswapfs.map), each at version LIBSWAPFS_0.1, and a program
# loads it and calls it (swapfs_client_open off a swapfs mount: -ENOTSUP).
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd) || exit 99
builddir=${builddir:-.}
so=$builddir/fs/client/libswapfs.so.0.1
fail() { echo "FAIL: $*"; exit 1; }
for tool in readelf nm; do
	command -v $tool >/dev/null || { echo "SKIP: no $tool (binutils)"; exit 77; }
done
[ -f "$so" ] || fail "no $so: build first"

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libswapfs.so.0 ] || fail "soname of $so: '$soname', not libswapfs.so.0"

api=$(sed -n 's/^[a-z].*[ *]\(swapfs_[a-z_]*\)(.*/\1@@LIBSWAPFS_0.1/p' \
	"$top_srcdir/fs/client/libswapfs.h" | sort)
[ -n "$api" ] || fail "no function found in libswapfs.h"
exported=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sort) ||
	fail "nm -D $so"
[ "$exported" = "$api" ] || {
	echo "libswapfs.h declares:"
	echo "$api"
	echo "$so exports:"
	echo "$exported"
	fail "the exports are not the API: update fs/client/libswapfs.map"
}
echo "$(echo "$api" | wc -l) functions exported, soname $soname"

if command -v python3 >/dev/null; then
	python3 - "$so" <<'PY' || fail "calling the library"
import ctypes, errno, sys, tempfile
lib = ctypes.CDLL(sys.argv[1])
client = ctypes.c_void_p()
with tempfile.TemporaryDirectory() as d:
    r = lib.swapfs_client_open(ctypes.byref(client), d.encode())
if r != -errno.ENOTSUP:
    sys.exit("swapfs_client_open off a swapfs mount: %d, not -ENOTSUP" % r)
print("loaded; swapfs_client_open off a swapfs mount: -ENOTSUP")
PY
else
	echo "no python3: the library was not loaded"
fi
