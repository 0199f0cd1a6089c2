#!/usr/bin/python3
"""names.py - names with every byte value POSIX allows, NAME_MAX and PATH_MAX limits.

usage: names.py DIR   (prints 'N passed, N failed')
"""
import errno, os, sys

DIR = sys.argv[1].encode()
failed = 0


def expect(code, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno == code
    return False


def check(ok, what):
    global failed
    if not ok:
        failed += 1
        print("FAIL", what)


base = os.path.join(DIR, b"names")
os.mkdir(base)
# every byte but NUL and '/', alone and inside a longer name
names = [bytes([b]) for b in range(1, 256) if b not in (0x2f, 0x2e)]
names += [b"x" + bytes([b]) + b"y" for b in range(1, 256) if b != 0x2f]
names += [b"..." , b".hidden", bytes(range(0x80, 0xff))]
for n in names:
    with open(os.path.join(base, n), "wb") as f:
        f.write(n)
listed = set(os.listdir(base))
check(listed == set(names), f"readdir returned {len(listed)} of {len(names)} names")
for n in names:
    p = os.path.join(base, n)
    check(open(p, "rb").read() == n, f"content of {n!r}")
    os.rename(p, p + b".r")
    os.unlink(p + b".r")
check(os.listdir(base) == [], "entries left after unlink")
# NAME_MAX: 255 bytes fine (also multibyte UTF-8), 256 refused
check(open(os.path.join(base, b"n" * 255), "wb").close() is None, "255-byte name")
utf = "ä".encode() * 127 + b"z"          # 255 bytes
open(os.path.join(base, utf), "wb").close()
check(os.path.exists(os.path.join(base, utf)), "255-byte UTF-8 name")
check(expect(errno.ENAMETOOLONG, os.mkdir, os.path.join(base, b"n" * 256)), "256-byte name refused")
# a deep tree up to PATH_MAX, and one component further is refused by the kernel
path, depth = base, 0
while len(path) + 1 + 200 < 4095:
    path = os.path.join(path, b"d" * 200)
    os.mkdir(path)
    depth += 1
check(os.path.isdir(path), "deep tree")
check(expect(errno.ENAMETOOLONG, os.mkdir, os.path.join(path, b"e" * 250)), "PATH_MAX refused")
with open(os.path.join(path, b"leaf"), "wb") as f:
    f.write(b"deep")
check(open(os.path.join(path, b"leaf"), "rb").read() == b"deep", "file at depth")
print(f"names: {len(names)} names, depth {depth}")
print(f"{0 if failed else 1} passed, {1 if failed else 0} failed")
sys.exit(1 if failed else 0)
