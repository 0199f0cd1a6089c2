#!/usr/bin/python3
"""fsx.py - an fsx-style verifier: random operations on files in a mount,
each mirrored on an in-memory model; every read is compared with the model.

usage: fsx.py DIR [OPS] [SEED]
Operations: buffered pwrite, O_DIRECT aligned write and read, shared mmap
write, truncate up and down, fallocate (allocate, keep-size, punch hole),
fsync, close and reopen.  Prints the operation counts; exit 1 on the first
mismatch with the operation log tail.
"""
import ctypes, mmap, os, random, sys

DIR = sys.argv[1]
OPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1
MAXLEN = 8 << 20
BLK = 4096
libc = ctypes.CDLL(None, use_errno=True)
rnd = random.Random(SEED)
counts, log = {}, []


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, ctypes.c_long(off), ctypes.c_long(length)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class File:
    def __init__(self, path):
        self.path, self.model = path, bytearray()
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def reopen(self):
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDWR)

    def check(self, off, n):
        got = os.pread(self.fd, n, off)
        want = bytes(self.model[off:off + n])
        if got != want:
            bad = next(i for i in range(min(len(got), len(want)) + 1)
                       if i >= len(got) or i >= len(want) or got[i] != want[i])
            raise AssertionError(f"{self.path}: read {n} at {off}: first difference at +{bad} "
                                 f"(got {len(got)} bytes, want {len(want)})")
        if os.fstat(self.fd).st_size != len(self.model):
            raise AssertionError(f"size {os.fstat(self.fd).st_size}, model {len(self.model)}")


def grow(f, end):
    if end > len(f.model):
        f.model.extend(b"\0" * (end - len(f.model)))


def op_write(f):
    off, n = rnd.randrange(MAXLEN), rnd.randrange(1, 300000)
    data = rnd.randbytes(n)
    os.pwrite(f.fd, data, off)
    grow(f, off + n)
    f.model[off:off + n] = data
    return off, n


def op_direct(f):
    off, n = rnd.randrange(MAXLEN // BLK) * BLK, rnd.randrange(1, 64) * BLK
    buf = mmap.mmap(-1, n)
    buf.write(rnd.randbytes(n))
    fd = os.open(f.path, os.O_RDWR | os.O_DIRECT)
    os.pwritev(fd, [buf], off)
    back = mmap.mmap(-1, n)
    got = os.preadv(fd, [back], off)
    os.close(fd)
    grow(f, off + n)
    f.model[off:off + n] = buf[:]
    if back[:got] != bytes(f.model[off:off + got]):
        raise AssertionError(f"O_DIRECT read-back at {off} differs")
    return off, n


def op_mmap(f):
    if len(f.model) < BLK:
        return op_write(f)
    size = len(f.model)
    off, n = rnd.randrange(size), rnd.randrange(1, 100000)
    n = min(n, size - off)
    data = rnd.randbytes(n)
    m = mmap.mmap(f.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[off:off + n] = data
    m.flush()
    m.close()
    f.model[off:off + n] = data
    return off, n


def op_truncate(f):
    size = rnd.randrange(MAXLEN)
    os.ftruncate(f.fd, size)
    if size < len(f.model):
        del f.model[size:]
    else:
        grow(f, size)
    return size, 0


def op_fallocate(f):
    off, n = rnd.randrange(MAXLEN), rnd.randrange(1, 1 << 20)
    mode = rnd.choice([0, 1, 3])           # allocate, keep-size, punch|keep-size
    fallocate(f.fd, mode, off, n)
    if mode == 0:
        grow(f, off + n)
    elif mode == 3:
        end = min(off + n, len(f.model))
        if off < end:
            f.model[off:end] = b"\0" * (end - off)
    return off, n


def op_fsync(f):
    os.fsync(f.fd)
    return 0, 0


def op_reopen(f):
    f.reopen()
    return 0, 0


OPSET = [(op_write, 30), (op_direct, 15), (op_mmap, 10), (op_truncate, 8), (op_fallocate, 10),
         (op_fsync, 4), (op_reopen, 4)]
choices = [fn for fn, w in OPSET for _ in range(w)]
files = [File(os.path.join(DIR, f"fsx{k}.bin")) for k in range(2)]
try:
    for i in range(OPS):
        f = rnd.choice(files)
        fn = rnd.choice(choices)
        off, n = fn(f)
        counts[fn.__name__] = counts.get(fn.__name__, 0) + 1
        log.append(f"{i} {os.path.basename(f.path)} {fn.__name__} {off} {n}")
        if len(f.model):
            s = rnd.randrange(len(f.model))
            f.check(s, rnd.randrange(1, 400000))
        if i % 200 == 0:
            f.check(0, len(f.model))
    for f in files:
        f.reopen()
        f.check(0, len(f.model))
except Exception as e:
    print("\n".join(log[-15:]))
    print(f"FAIL after {len(log)} operations: {e}")
    print("0 passed, 1 failed")
    sys.exit(1)
print("fsx:", OPS, "operations,", ", ".join(f"{k[3:]} {v}" for k, v in sorted(counts.items())))
print("1 passed, 0 failed")
