#!/bin/sh
# valgrind.sh - the offline tools under valgrind (memcheck, leaks): mkswapfs,
# swapfsck checking and repairing a damaged table.  Skipped in sanitizer
# builds (ASan and valgrind exclude each other) and without valgrind.
set -u
. "$(dirname "$0")/lib.sh"
[ "${SANITIZERS:-no}" != no ] && skip "sanitizer build"
command -v valgrind >/dev/null || skip "valgrind not installed"
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
make_images 2 40M 48M
# shellcheck disable=SC2086
$VG "$MKSWAPFS" -q -f $(echo "$DEVS" | tr ':' ' ') || fail "mkswapfs under valgrind"
"$builddir/tests/fsck_corrupt" "$DEVS" populate || fail "populate"
"$builddir/tests/fsck_corrupt" "$DEVS" nlink || fail "corrupt"
$VG "$builddir/tools/swapfsck" -y "$DEVS" >/dev/null; rc=$?
[ $rc -eq 1 ] || fail "swapfsck -y under valgrind: exit $rc"
$VG "$builddir/tools/swapfsck" -n --json "$DEVS" >/dev/null || fail "swapfsck -n under valgrind"
$VG "$MKSWAPFS" -n "$T/m0.img" >/dev/null 2>&1; [ $? -eq 1 ] || fail "mkswapfs refusal under valgrind"
echo "1 passed, 0 failed"
