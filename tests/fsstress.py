"""fsstress.py MOUNT OPS PROCS SEED [snapshot FILE]: an fsstress-style
namespace torture (fsstress is not packaged in Debian).

PROCS processes run OPS random operations each on one shared tree: create
(O_EXCL, with content), mkdir, rename (over files, across directories),
link, symlink, unlink, rmdir, truncate (shrink), pwrite extending a file
with its own pattern, chmod, setxattr/getxattr/removexattr, readdir, stat,
read and verify.  Races between the processes give ENOENT, EEXIST,
ENOTEMPTY, ENOTDIR, EISDIR...: those are expected; any other error, and
any byte that is neither the file's own pattern nor zero, is a failure.
Every file starts with a 16-byte header naming its pattern, so content can
be checked whatever renames did to its name.

"snapshot FILE" afterwards writes a listing of the tree (types, sizes,
modes, link targets, content hashes) to FILE: compare the listings before
an unmount and after the next mount.
"""
import errno
import hashlib
import os
import random
import stat
import sys

EXPECTED = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR,
            errno.EINVAL, errno.ENODATA, errno.EXDEV, errno.EBUSY, errno.ELOOP}
MAX_FILE = 3 << 20


PERIOD = 65521  # a prime: a block of this length repeats through the file
_blocks = {}


def pattern(seed, off, n):
    """Bytes off..off+n of the pattern named by seed (position-dependent)."""
    b = _blocks.get(seed)
    if b is None:
        if len(_blocks) > 64:
            _blocks.clear()
        b = _blocks[seed] = random.Random(seed).randbytes(PERIOD).replace(b"\0", b"\1")
    start = off % PERIOD
    reps = (start + n) // PERIOD + 1
    return (b * reps)[start:start + n]


def header(seed):
    return b"FSST" + seed.to_bytes(8, "little") + b"\0\0\0\0"


def verify(path):
    """Every byte is the file's pattern or zero (truncate/extend races leave zeros)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16 or not data.startswith(b"FSST"):
        if data.strip(b"\0") and not data.startswith(b"FSST"[:len(data)]):
            raise AssertionError(f"{path}: foreign header {data[:16]!r}")
        return
    seed = int.from_bytes(data[4:12], "little")
    want = pattern(seed, 16, len(data) - 16)
    body = data[16:]
    for i in range(0, len(body), 4096):
        a, b = body[i:i + 4096], want[i:i + 4096]
        if a != b:
            for k, (x, y) in enumerate(zip(a, b)):
                if x != y and x != 0:
                    raise AssertionError(f"{path}: byte {16 + i + k} is {x}, pattern {y}")


def worker(root, ops, seed):
    rng = random.Random(seed)
    counts = {}

    def pick(kind=None):
        """A random existing path under root (walks a few levels)."""
        d = root
        for _ in range(rng.randint(0, 3)):
            try:
                subs = [e for e in os.scandir(d) if e.is_dir(follow_symlinks=False)]
            except OSError:
                break
            if not subs:
                break
            d = rng.choice(subs).path
        try:
            entries = list(os.scandir(d))
        except OSError:
            return root
        if kind == "dir":
            dirs = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
            return rng.choice(dirs) if dirs else d
        files = [e.path for e in entries if e.is_file(follow_symlinks=False)]
        if kind == "file":
            return rng.choice(files) if files else None
        return rng.choice(entries).path if entries else d

    def newname():
        return os.path.join(pick("dir"), f"n{seed}_{rng.randrange(1 << 30):x}")

    for _ in range(ops):
        op = rng.choice(["create", "create", "mkdir", "rename", "rename", "link", "symlink",
                         "unlink", "rmdir", "truncate", "extend", "chmod", "xattr", "readdir",
                         "stat", "verify", "verify"])
        counts[op] = counts.get(op, 0) + 1
        try:
            if op == "create":
                s = rng.randrange(1 << 40)
                n = rng.choice([0, 100, 4096, 65536, 300000, 1 << 20])
                fd = os.open(newname(), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                try:
                    os.write(fd, header(s) + pattern(s, 16, n))
                finally:
                    os.close(fd)
            elif op == "mkdir":
                os.mkdir(newname())
            elif op == "rename":
                src = pick()
                if src != root:
                    dst = pick("file") if rng.random() < 0.3 else newname()
                    if dst and not dst.startswith(src + "/"):
                        os.rename(src, dst)
            elif op == "link":
                f = pick("file")
                if f:
                    os.link(f, newname())
            elif op == "symlink":
                os.symlink(pick(), newname())
            elif op == "unlink":
                f = pick("file")
                if f:
                    os.unlink(f)
            elif op == "rmdir":
                d = pick("dir")
                if d != root:
                    os.rmdir(d)
            elif op == "truncate":
                f = pick("file")
                if f:
                    size = os.stat(f).st_size
                    os.truncate(f, rng.randint(16, size) if size > 16 else size)
            elif op == "extend":
                f = pick("file")
                if f:
                    with open(f, "r+b") as fh:
                        h = fh.read(16)
                        size = os.fstat(fh.fileno()).st_size
                        if len(h) == 16 and h.startswith(b"FSST") and size < MAX_FILE:
                            s = int.from_bytes(h[4:12], "little")
                            n = rng.choice([1, 4096, 70000, 1 << 20])
                            os.pwrite(fh.fileno(), pattern(s, size, n), size)
            elif op == "chmod":
                p = pick()
                if not os.path.islink(p):
                    os.chmod(p, rng.choice([0o600, 0o644, 0o755, 0o700]))
            elif op == "xattr":
                p = pick()
                if not os.path.islink(p):
                    name = f"user.k{rng.randrange(4)}"
                    if rng.random() < 0.3:
                        os.removexattr(p, name)
                    else:
                        v = os.urandom(rng.randrange(1, 200))
                        os.setxattr(p, name, v)
                        os.getxattr(p, name)
            elif op == "readdir":
                os.listdir(pick("dir"))
            elif op == "stat":
                os.lstat(pick())
            elif op == "verify":
                f = pick("file")
                if f:
                    verify(f)
        except OSError as e:
            if e.errno not in EXPECTED:
                raise
    return counts


def snapshot(root, out):
    lines = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(d, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                lines.append(f"L {rel} {os.readlink(p)}")
            elif stat.S_ISDIR(st.st_mode):
                lines.append(f"D {rel} {oct(st.st_mode & 0o7777)}")
            else:
                h = hashlib.sha1(open(p, "rb").read()).hexdigest()
                lines.append(f"F {rel} {oct(st.st_mode & 0o7777)} {st.st_size} {st.st_nlink} {h}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


def main():
    root, ops, procs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    pids = []
    for p in range(procs):
        pid = os.fork()
        if pid == 0:
            try:
                counts = worker(root, ops, seed * 100 + p)
                print(f"proc {p}: {sum(counts.values())} ops {sorted(counts.items())}")
                os._exit(0)
            except BaseException as e:  # report and fail this process
                print(f"proc {p}: FAILED: {e!r}")
                os._exit(1)
        pids.append(pid)
    failed = sum(1 for pid in pids if os.waitpid(pid, 0)[1] != 0)
    # every file left must still hold only its own bytes
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            if not os.path.islink(p):
                verify(p)
    if len(sys.argv) > 6 and sys.argv[5] == "snapshot":
        print(f"{snapshot(root, sys.argv[6])} entries in the snapshot")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
