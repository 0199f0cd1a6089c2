#!/usr/bin/python3
"""fs_posix.py - POSIX behaviour of a mounted swapfs, checked with real system calls.

usage: fs_posix.py MOUNTPOINT write|verify
'write' runs every check and leaves files for 'verify', which runs after a
remount and checks that they survived.  Prints 'N passed, N failed'.
"""
import ctypes, errno, mmap, os, stat, sys, traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from patterns import pattern  # noqa: E402

MNT, PHASE = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
AT_FDCWD = -100
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
SEEK_DATA, SEEK_HOLE = 3, 4
results = {"passed": 0, "failed": 0}


def p(*parts):
    return os.path.join(MNT, *parts)




def expect_errno(code, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == code, f"expected {errno.errorcode[code]}, got {errno.errorcode.get(e.errno)}"
        return
    raise AssertionError(f"expected {errno.errorcode[code]}, call succeeded")


def renameat2(old, new, flags):
    if libc.renameat2(AT_FDCWD, old.encode(), AT_FDCWD, new.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, ctypes.c_long(off), ctypes.c_long(length)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def write_file(path, data, flags=0):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def check(fn):
    name = fn.__name__
    try:
        fn()
        results["passed"] += 1
        print(f"ok   {name}")
    except Exception:
        results["failed"] += 1
        print(f"FAIL {name}")
        traceback.print_exc(file=sys.stdout)
    return fn


# ---------------------------------------------------------------- write phase
def t_create_write_read_unlink():
    data = pattern("basic", 3 * 1024 * 1024 + 123)
    write_file(p("basic.bin"), data)
    assert os.stat(p("basic.bin")).st_size == len(data)
    assert read_file(p("basic.bin")) == data
    os.unlink(p("basic.bin"))
    expect_errno(errno.ENOENT, os.stat, p("basic.bin"))


def t_unaligned_overwrites():
    base = bytearray(pattern("ow", 300000))
    write_file(p("ow.bin"), base)
    fd = os.open(p("ow.bin"), os.O_RDWR)
    for off, n in [(1, 10), (4095, 2), (65535, 70000), (299990, 20), (123456, 1)]:
        chunk = pattern(f"ow{off}", n)
        os.pwrite(fd, chunk, off)
        end = off + n
        if end > len(base):
            base.extend(b"\0" * (end - len(base)))
        base[off:end] = chunk
    os.close(fd)
    assert read_file(p("ow.bin")) == bytes(base)


def t_truncate_both_ways_no_stale_bytes():
    data = pattern("trunc", 200000)
    write_file(p("t.bin"), data)
    os.truncate(p("t.bin"), 1000)
    assert os.stat(p("t.bin")).st_size == 1000
    os.truncate(p("t.bin"), 300000)
    got = read_file(p("t.bin"))
    assert got[:1000] == data[:1000]
    assert got[1000:] == b"\0" * 299000, "bytes beyond the truncation point came back"
    fd = os.open(p("t.bin"), os.O_RDWR)
    os.ftruncate(fd, 5)
    os.pwrite(fd, b"x", 70000)       # extend by writing past EOF in a later AU
    os.close(fd)
    got = read_file(p("t.bin"))
    assert got[:5] == data[:5] and got[5:70000] == b"\0" * 69995 and got[70000:] == b"x"


def t_no_stale_data_from_deleted_tensors():
    secret = b"\xab" * (4 * 1024 * 1024)
    write_file(p("secret.bin"), secret)
    os.sync()
    os.unlink(p("secret.bin"))
    fd = os.open(p("dir_for_fsync_marker"), os.O_CREAT | os.O_WRONLY, 0o600)
    os.fsync(fd)   # commits the unlink: its blocks become reusable
    os.close(fd)
    fd = os.open(p("fresh.bin"), os.O_CREAT | os.O_RDWR, 0o600)
    os.pwrite(fd, b"z", 4 * 1024 * 1024 - 1)   # sparse then one byte
    fallocate(fd, 0, 0, 4 * 1024 * 1024)
    os.pwrite(fd, b"y", 10)
    os.close(fd)
    got = read_file(p("fresh.bin"))
    assert b"\xab" not in got, "a new file shows bytes of a deleted one"


def t_sparse_reads_zeros():
    fd = os.open(p("sparse.bin"), os.O_CREAT | os.O_RDWR, 0o644)
    os.pwrite(fd, b"end", 10 * 1024 * 1024)
    os.close(fd)
    st = os.stat(p("sparse.bin"))
    assert st.st_size == 10 * 1024 * 1024 + 3
    assert st.st_blocks * 512 < 1024 * 1024, "a sparse file allocated its holes"
    with open(p("sparse.bin"), "rb") as f:
        assert f.read(10 * 1024 * 1024) == b"\0" * (10 * 1024 * 1024)
        assert f.read() == b"end"


def t_o_trunc_existing():
    write_file(p("ot.bin"), pattern("ot", 3 * 1024 * 1024))
    fd = os.open(p("ot.bin"), os.O_RDWR | os.O_TRUNC)
    assert os.fstat(fd).st_size == 0, "O_TRUNC left the old size"
    os.pwrite(fd, b"abc", 100)
    assert os.pread(fd, 200, 0) == b"\0" * 100 + b"abc", "O_TRUNC left old bytes"
    os.close(fd)
    assert os.stat(p("ot.bin")).st_size == 103


def t_o_append():
    write_file(p("app.txt"), b"a")
    fd = os.open(p("app.txt"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"b")
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b"c")
    os.close(fd)
    assert read_file(p("app.txt")) == b"abc"


def t_o_direct():
    buf = mmap.mmap(-1, 2 * 1024 * 1024)
    data = pattern("direct", len(buf))
    buf.write(data)
    fd = os.open(p("direct.bin"), os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
    assert os.write(fd, buf) == len(buf)
    os.close(fd)
    assert os.stat(p("direct.bin")).st_size == len(buf)
    rbuf = mmap.mmap(-1, len(buf))
    fd = os.open(p("direct.bin"), os.O_RDONLY | os.O_DIRECT)
    assert os.readv(fd, [rbuf]) == len(buf)
    os.close(fd)
    assert rbuf[:] == data


def t_mkdir_rmdir_and_errors():
    os.mkdir(p("d1"))
    os.mkdir(p("d1", "sub"))
    assert os.stat(p("d1")).st_nlink == 3
    expect_errno(errno.ENOTEMPTY, os.rmdir, p("d1"))
    expect_errno(errno.EEXIST, os.mkdir, p("d1"))
    expect_errno(errno.ENOTDIR, os.rmdir, p("app.txt"))
    expect_errno(errno.EISDIR, os.unlink, p("d1"))
    expect_errno(errno.ENOENT, os.rmdir, p("nope"))
    expect_errno(errno.ENAMETOOLONG, os.mkdir, p("n" * 256))
    os.mkdir(p("n" * 255))
    os.rmdir(p("n" * 255))
    os.rmdir(p("d1", "sub"))
    os.rmdir(p("d1"))


def t_rename_semantics():
    write_file(p("r1"), b"one")
    write_file(p("r2"), b"two")
    os.rename(p("r1"), p("r2"))                      # over an existing file
    assert read_file(p("r2")) == b"one" and not os.path.exists(p("r1"))
    write_file(p("r3"), b"three")
    expect_errno(errno.EEXIST, renameat2, p("r3"), p("r2"), RENAME_NOREPLACE)
    renameat2(p("r3"), p("r2"), RENAME_EXCHANGE)
    assert read_file(p("r2")) == b"three" and read_file(p("r3")) == b"one"
    os.mkdir(p("rd"))
    os.mkdir(p("rd", "inner"))
    expect_errno(errno.EINVAL, os.rename, p("rd"), p("rd", "inner", "x"))
    os.mkdir(p("rd2"))
    write_file(p("rd2", "f"), b"")
    expect_errno(errno.ENOTEMPTY, os.rename, p("rd"), p("rd2"))
    expect_errno(errno.EISDIR, os.rename, p("r2"), p("rd"))
    expect_errno(errno.ENOTDIR, os.rename, p("rd"), p("r2"))
    os.rename(p("rd", "inner"), p("rd2", "inner"))   # directory changes parent
    assert os.stat(p("rd")).st_nlink == 2 and os.stat(p("rd2")).st_nlink == 3
    os.link(p("r2"), p("r2link"))
    os.rename(p("r2"), p("r2link"))                  # same inode: no-op
    assert os.path.exists(p("r2")) and os.path.exists(p("r2link"))


def t_links_and_symlinks():
    write_file(p("lk"), b"data")
    os.link(p("lk"), p("lk2"))
    assert os.stat(p("lk")).st_nlink == 2
    os.unlink(p("lk"))
    assert os.stat(p("lk2")).st_nlink == 1 and read_file(p("lk2")) == b"data"
    os.symlink("lk2", p("sl"))
    assert os.readlink(p("sl")) == "lk2" and read_file(p("sl")) == b"data"
    assert stat.S_ISLNK(os.lstat(p("sl")).st_mode)
    long_target = "x" * 4000
    os.symlink(long_target, p("sl_long"))
    assert os.readlink(p("sl_long")) == long_target
    os.mkdir(p("ld"))
    expect_errno(errno.EPERM, os.link, p("ld"), p("ld2"))
    os.mkfifo(p("fifo"))
    assert stat.S_ISFIFO(os.stat(p("fifo")).st_mode)


def t_readdir_stable_under_changes():
    os.mkdir(p("many"))
    names = {f"f{i:04d}" for i in range(600)}
    for n in names:
        open(p("many", n), "w").close()
    seen = []
    with os.scandir(p("many")) as it:
        for k, e in enumerate(it):
            seen.append(e.name)
            if k % 10 == 0:                         # churn while listing
                open(p("many", f"new{k}"), "w").close()
                os.unlink(p("many", f"new{k}"))
    assert len(seen) == len(set(seen)), "readdir returned an entry twice"
    assert names <= set(seen), "readdir lost entries that existed throughout"
    assert sorted(os.listdir(p("many"))) == sorted(names)


def t_statfs_tracks_allocation():
    before = os.statvfs(MNT)
    write_file(p("space.bin"), b"\1" * (8 * 1024 * 1024))
    mid = os.statvfs(MNT)
    assert (before.f_bfree - mid.f_bfree) * mid.f_frsize >= 8 * 1024 * 1024
    os.unlink(p("space.bin"))
    fd = os.open(MNT, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    after = os.statvfs(MNT)
    assert after.f_bfree >= before.f_bfree - 64, (before.f_bfree, after.f_bfree)
    assert mid.f_namemax == 255


def t_xattrs():
    write_file(p("x.bin"), b"")
    os.setxattr(p("x.bin"), "user.dtype", b"float16")
    os.setxattr(p("x.bin"), "user.shape", b"[1024, 4096]")
    assert os.getxattr(p("x.bin"), "user.dtype") == b"float16"
    assert sorted(os.listxattr(p("x.bin"))) == ["user.dtype", "user.shape"]
    expect_errno(errno.EEXIST, os.setxattr, p("x.bin"), "user.dtype", b"x", os.XATTR_CREATE)
    expect_errno(errno.ENODATA, os.setxattr, p("x.bin"), "user.none", b"x", os.XATTR_REPLACE)
    os.setxattr(p("x.bin"), "user.dtype", b"bfloat16", os.XATTR_REPLACE)
    os.removexattr(p("x.bin"), "user.shape")
    expect_errno(errno.ENODATA, os.getxattr, p("x.bin"), "user.shape")
    big = bytes(range(256)) * 256
    os.setxattr(p("x.bin"), "user.big", big)
    assert os.getxattr(p("x.bin"), "user.big") == big


def t_fallocate_punch_and_seek():
    fd = os.open(p("fa.bin"), os.O_CREAT | os.O_RDWR, 0o644)
    fallocate(fd, 0, 0, 1024 * 1024)
    assert os.fstat(fd).st_size == 1024 * 1024
    assert os.pread(fd, 4096, 500000) == b"\0" * 4096
    fallocate(fd, FALLOC_FL_KEEP_SIZE, 1024 * 1024, 1024 * 1024)
    assert os.fstat(fd).st_size == 1024 * 1024
    data = pattern("fa", 1024 * 1024)
    os.pwrite(fd, data, 0)
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100000, 300000)
    got = os.pread(fd, 1024 * 1024, 0)
    assert got[:100000] == data[:100000] and got[100000:400000] == b"\0" * 300000
    assert got[400000:] == data[400000:]
    os.ftruncate(fd, 0)
    os.pwrite(fd, b"d", 3 * 1024 * 1024)
    assert os.lseek(fd, 0, SEEK_DATA) == 3 * 1024 * 1024 - (3 * 1024 * 1024) % 65536
    assert os.lseek(fd, 0, SEEK_HOLE) == 0
    hole = os.lseek(fd, 3 * 1024 * 1024, SEEK_HOLE)
    assert hole == 3 * 1024 * 1024 + 1
    expect_errno(errno.ENXIO, os.lseek, fd, 4 * 1024 * 1024, SEEK_DATA)
    os.close(fd)


def t_mmap_shared_and_readonly():
    size = 3 * 1024 * 1024
    write_file(p("mm.bin"), b"\0" * size)
    fd = os.open(p("mm.bin"), os.O_RDWR)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    data = pattern("mm", size)
    m[:] = data
    m.flush()
    m.close()
    os.close(fd)
    assert read_file(p("mm.bin")) == data
    os.pwrite(os.open(p("mm.bin"), os.O_WRONLY), b"WRITTEN", 4096)
    with open(p("mm.bin"), "rb") as f:
        r = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        assert r[4096:4103] == b"WRITTEN" and r[:4096] == data[:4096]
        r.close()


def t_open_unlinked_stays_readable():
    write_file(p("ul.bin"), pattern("ul", 100000))
    fd = os.open(p("ul.bin"), os.O_RDWR)
    os.unlink(p("ul.bin"))
    assert os.pread(fd, 100000, 0) == pattern("ul", 100000)
    os.pwrite(fd, b"more", 100000)
    assert os.fstat(fd).st_nlink == 0 and os.fstat(fd).st_size == 100004
    os.close(fd)


def as_user(uid, fn):
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            fn()
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "check as another user failed"


def t_permissions_as_another_user():
    nobody = 65534
    os.mkdir(p("perm"), 0o755)
    write_file(p("perm", "ro.bin"), b"root data")
    os.chmod(p("perm", "ro.bin"), 0o644)
    write_file(p("perm", "priv.bin"), b"secret")
    os.chmod(p("perm", "priv.bin"), 0o600)
    os.mkdir(p("open"))
    os.chmod(p("open"), 0o777)
    write_file(p("open", "suid"), b"x")
    os.chmod(p("open", "suid"), 0o4777)

    def user_checks():
        assert read_file(p("perm", "ro.bin")) == b"root data"
        expect_errno(errno.EACCES, os.open, p("perm", "ro.bin"), os.O_WRONLY)
        expect_errno(errno.EACCES, os.open, p("perm", "priv.bin"), os.O_RDONLY)
        expect_errno(errno.EACCES, os.open, p("perm", "new"), os.O_CREAT | os.O_WRONLY, 0o644)
        expect_errno(errno.EACCES, os.unlink, p("perm", "ro.bin"))
        expect_errno(errno.EPERM, os.chmod, p("perm", "ro.bin"), 0o777)
        write_file(p("open", "mine"), b"user file")
        assert os.stat(p("open", "mine")).st_uid == nobody
        fd = os.open(p("open", "suid"), os.O_WRONLY)
        os.write(fd, b"y")
        os.close(fd)
        assert not os.stat(p("open", "suid")).st_mode & stat.S_ISUID, "setuid kept after a write by another user"
    as_user(nobody, user_checks)


def t_error_codes():
    expect_errno(errno.ENOENT, os.open, p("missing", "x"), os.O_RDONLY)
    expect_errno(errno.ENOTDIR, os.open, p("app.txt", "x"), os.O_RDONLY)
    expect_errno(errno.EEXIST, os.open, p("app.txt"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    expect_errno(errno.ENAMETOOLONG, os.open, p("y" * 256), os.O_CREAT | os.O_WRONLY)
    fd = os.open(p("big.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
    expect_errno(errno.EFBIG, os.pwrite, fd, b"x", 1 << 61)
    os.close(fd)


def t_enospc_and_recovery():
    free = os.statvfs(MNT).f_bavail * os.statvfs(MNT).f_frsize
    fd = os.open(p("fill.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
    chunk = b"\7" * (1024 * 1024)
    written, err = 0, None
    try:
        while written < free + (64 << 20):
            written += os.write(fd, chunk)
    except OSError as e:
        err = e.errno
    os.close(fd)
    assert err == errno.ENOSPC, f"expected ENOSPC, got {err}"
    # a write to the full volume gets ENOSPC itself: what was acknowledged
    # is stored (a staged write once was lost when its chunk found no space,
    # fsync returned 0 and a rename then exposed zeros)
    fd = os.open(p("late.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
    acked = b""
    for part in (b"\1" * 100000, b"\2" * (1048576 - 100000)):
        try:
            acked += part[:os.write(fd, part)]
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
            break
    os.fsync(fd)
    os.close(fd)
    assert read_file(p("late.bin")) == acked, "acknowledged bytes lost"
    os.unlink(p("late.bin"))
    os.unlink(p("fill.bin"))
    fd = os.open(MNT, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    write_file(p("after_enospc.bin"), b"fine" * 1000)
    assert read_file(p("after_enospc.bin")) == b"fine" * 1000


def t_numpy_round_trips():
    import numpy as np
    a = np.random.default_rng(1).standard_normal((512, 1024)).astype(np.float32)
    a.tofile(p("a.f32"))
    b = np.fromfile(p("a.f32"), dtype=np.float32).reshape(a.shape)
    assert np.array_equal(a, b)
    np.save(p("a.npy"), a)
    c = np.load(p("a.npy"), mmap_mode="r")
    assert np.array_equal(a, c)
    assert read_file(p("a.f32")) == a.tobytes()


def t_torch_round_trip():
    import torch
    g = torch.Generator().manual_seed(3)
    state = {"w": torch.randn(256, 1024, generator=g), "b": torch.arange(1000, dtype=torch.int64),
             "h": torch.randn(300, 300, generator=g).to(torch.bfloat16)}
    torch.save(state, p("model.pt"))
    back = torch.load(p("model.pt"))
    for k in state:
        assert torch.equal(state[k], back[k]), k
    with open(p("model.pt"), "rb") as f:
        import io
        again = torch.load(io.BytesIO(f.read()))
    assert torch.equal(again["w"], state["w"])


def t_deepspeed_style_swap():
    """Per-rank folders, *.tensor.swp, O_DIRECT 1 MiB-aligned writes, padded tail, rmtree at start."""
    import shutil
    root = p("zero_swap")
    shutil.rmtree(root, ignore_errors=True)
    align = 1024 * 1024
    for rank in range(2):
        folder = os.path.join(root, f"rank{rank}")
        os.makedirs(folder, exist_ok=True)
        for t in range(3):
            numel_bytes = (t + 1) * 3 * align + 12345          # unaligned tensor
            padded = (numel_bytes + align - 1) // align * align   # DeepSpeed pads to alignment
            buf = mmap.mmap(-1, padded)
            buf.write(pattern(f"ds{rank}.{t}", numel_bytes))
            path = os.path.join(folder, f"param_{t}.tensor.swp")
            for step in range(2):                                # rewritten every step
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
                for off in range(0, padded, align):
                    assert os.pwritev(fd, [memoryview(buf)[off:off + align]], off) == align
                os.close(fd)
                assert os.stat(path).st_size == padded
            rbuf = mmap.mmap(-1, padded)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
            assert os.preadv(fd, [rbuf], 0) == padded
            os.close(fd)
            assert rbuf[:numel_bytes] == buf[:numel_bytes]


def t_leave_files_for_verify():
    os.makedirs(p("keep", "deep", "er"), exist_ok=True)
    write_file(p("keep", "deep", "er", "t.bin"), pattern("keep", 5 * 1024 * 1024 + 7))
    os.setxattr(p("keep", "deep", "er", "t.bin"), "user.shape", b"[5,1048576]")
    os.symlink("deep/er/t.bin", p("keep", "link"))
    os.truncate(p("keep", "deep", "er", "t.bin"), 5 * 1024 * 1024 + 3)
    os.rename(p("keep", "deep"), p("keep", "deeper"))


def v_files_survived_remount():
    path = p("keep", "deeper", "er", "t.bin")
    assert read_file(path) == pattern("keep", 5 * 1024 * 1024 + 3)
    assert os.getxattr(path, "user.shape") == b"[5,1048576]"
    assert os.readlink(p("keep", "link")) == "deep/er/t.bin"
    assert not os.path.exists(p("keep", "deep"))
    assert read_file(p("app.txt")) == b"abc"
    assert read_file(p("r2")) == b"three"
    assert os.stat(p("many")).st_nlink == 2 and len(os.listdir(p("many"))) == 600
    import numpy as np
    assert np.load(p("a.npy"), mmap_mode="r").shape == (512, 1024)
    assert not os.path.exists(p("ul.bin"))


WRITE = [t_create_write_read_unlink, t_unaligned_overwrites, t_truncate_both_ways_no_stale_bytes,
         t_no_stale_data_from_deleted_tensors, t_sparse_reads_zeros, t_o_trunc_existing, t_o_append, t_o_direct,
         t_mkdir_rmdir_and_errors, t_rename_semantics, t_links_and_symlinks,
         t_readdir_stable_under_changes, t_statfs_tracks_allocation, t_xattrs,
         t_fallocate_punch_and_seek, t_mmap_shared_and_readonly, t_open_unlinked_stays_readable,
         t_permissions_as_another_user, t_error_codes, t_numpy_round_trips, t_torch_round_trip,
         t_deepspeed_style_swap, t_leave_files_for_verify, t_enospc_and_recovery]
VERIFY = [v_files_survived_remount]

os.umask(0o022)
for fn in (WRITE if PHASE == "write" else VERIFY):
    check(fn)
print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
