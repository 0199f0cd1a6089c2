"""swapfs.aio: DeepSpeed's asynchronous I/O op (``deepspeed.ops.aio``), served by swapfs.

This module has the shape of the object ``AsyncIOBuilder().load()`` returns
in DeepSpeed (``aio_handle``, ``aio_read``, ``aio_write``,
``deepspeed_memcpy``); ``swapfs.deepspeed.install()`` makes DeepSpeed load
it instead of building its own op (docs/CLIENT.md).

    from swapfs.aio import aio_handle
    h = aio_handle(block_size=1 << 20, queue_depth=32)
    buf = h.new_cpu_locked_tensor(n, torch.empty(0, dtype=torch.float16))
    h.async_pwrite(buf, "/mnt/swap/opt/state.0")   # -> 0, queued
    h.wait()                                        # -> 1 (operations completed)
    h.sync_pread(buf, "/mnt/swap/opt/state.0")      # -> 1

Every call returns what DeepSpeed's returns (docs/CLIENT.md has the table):
operation counts, 0 for a queued operation, -1 with a message on stderr
when the file cannot be found or opened, an AssertionError where DeepSpeed
asserts.  Files on a swapfs mount (with the client path) move through the
daemon's io_uring with no copy from buffers of new_cpu_locked_tensor;
files anywhere else go through the handle's own io_uring, O_DIRECT where
buffer, offset and length are 4096-aligned, so one handle serves a
configuration that mixes paths.  CUDA tensors, unpinned and non-contiguous
tensors go through a pinned bounce buffer, as in DeepSpeed.  I/O errors
(EIO, ENOSPC) raise OSError from wait() once every operation completed
(DeepSpeed ignores them).  Waits give up after timeout seconds (60).
"""
import ctypes
import errno
import mmap
import os
import sys
import threading
import time

from . import _aio

__all__ = ["aio_handle", "aio_read", "aio_write", "deepspeed_memcpy"]

_PAGE = 4096
_LIB = "swapfs_aio"
_libc = ctypes.CDLL(None, use_errno=True)


def _report_file_error(filename, file_op, error_code):
    # DeepSpeed's report_file_error(), word for word but the library name
    print(f"{_LIB}:  {file_op} failed on {filename} error = {error_code}", file=sys.stderr)


class _Shared:
    """Page-aligned memory, locked where RLIMIT_MEMLOCK allows, usable with
    O_DIRECT on any filesystem.  The first swapfs daemon it is used with
    adopts it (swapfs_buf_register: its pages become the daemon's shared
    memory, same address, same bytes; zero-copy from then on); other
    daemons reach it through their client's bounce buffer."""
    __slots__ = ("mm", "addr", "nbytes", "owner", "cuda", "__weakref__")

    def __init__(self, nbytes):
        size = max(_PAGE, (int(nbytes) + _PAGE - 1) & ~(_PAGE - 1))
        self.mm = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0))
        self.nbytes = size
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.mm))
        _libc.mlock(ctypes.c_void_p(self.addr), ctypes.c_size_t(size))  # best effort, as libswapfs
        self.owner = None       # the client whose daemon backs it
        self.cuda = False

    def tensor(self, dtype, count):
        import torch
        return torch.frombuffer(self.mm, dtype=dtype, count=count)

    def array(self, nbytes):
        import numpy as np
        return np.frombuffer(self.mm, dtype=np.uint8, count=int(nbytes))


def _pin_for_cuda(shared):
    """Register a bounce buffer with CUDA (page-locked for cudaMemcpy)."""
    if shared.cuda:
        return
    try:
        import torch
        r = torch.cuda.cudart().cudaHostRegister(shared.addr, shared.nbytes, 0)
        shared.cuda = int(r) == 0 if not isinstance(r, tuple) else int(r[0]) == 0
    except Exception:   # pragma: no cover - not fatal: pageable copies are slower only
        shared.cuda = False


def _unpin_for_cuda(shared):
    if shared.cuda:
        import torch
        torch.cuda.cudart().cudaHostUnregister(shared.addr)
        shared.cuda = False


class _Op:
    __slots__ = ("write", "path", "backend", "file", "fd", "dfd", "user", "bounce",
                 "copy_back", "addr", "nbytes", "offset", "left", "error", "done_bytes",
                 "validate", "shared_addr")

    def __init__(self):
        self.file = self.fd = self.dfd = -1
        self.bounce = self.copy_back = None
        self.left = self.error = self.done_bytes = 0


def _is_torch(buf):
    return hasattr(buf, "data_ptr") and hasattr(buf, "element_size")


def _nbytes(buf):
    if _is_torch(buf):
        return buf.numel() * buf.element_size()
    if hasattr(buf, "nbytes"):
        return int(buf.nbytes)
    return memoryview(buf).nbytes


def _host_address(buf, writable):
    """(address, nbytes) of a contiguous host buffer, or None if it is not one."""
    if _is_torch(buf):
        if buf.device.type != "cpu" or not buf.is_contiguous():
            return None
        return buf.data_ptr(), buf.numel() * buf.element_size()
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency on Debian
        np = None
    if np is not None:
        arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
        if writable and not arr.flags["WRITEABLE"]:
            raise ValueError("cannot read into a read-only buffer")
        if not arr.flags["C_CONTIGUOUS"]:
            return None
        return arr.ctypes.data, arr.nbytes
    mv = memoryview(buf)
    if not mv.contiguous or mv.readonly:
        raise ValueError("swapfs.aio needs a contiguous writable buffer without numpy")
    return ctypes.addressof(ctypes.c_char.from_buffer(mv)), mv.nbytes


def _byte_view(buf):
    """The buffer's bytes as a flat uint8 view (a copy for CUDA tensors)."""
    import numpy as np
    if _is_torch(buf):
        t = buf.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.contiguous().reshape(-1)
        import torch
        return t.view(torch.uint8).numpy()
    arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    return np.ascontiguousarray(arr).reshape(-1).view(np.uint8)


class aio_handle:
    """aio_handle(block_size=1048576, queue_depth=128, single_submit=False,
    overlap_events=False, intra_op_parallelism=1, timeout=60.0, mount=None)

    DeepSpeed's aio_handle (same arguments and defaults).  single_submit and
    overlap_events are reported but have no effect: requests of an operation
    are kept queue_depth deep in one submission stream; intra_op_parallelism
    is DeepSpeed's divisibility rule for pread/pwrite sizes.  timeout and
    mount (a path on a swapfs mount to connect to at once) are additions."""

    def __init__(self, block_size=1024 * 1024, queue_depth=128, single_submit=False,
                 overlap_events=False, intra_op_parallelism=1, timeout=60.0, mount=None):
        if block_size <= 0 or queue_depth <= 0 or intra_op_parallelism <= 0:
            raise ValueError("block_size, queue_depth and intra_op_parallelism must be positive")
        self._block, self._qd = int(block_size), int(queue_depth)
        self._single, self._overlap = bool(single_submit), bool(overlap_events)
        self._threads = int(intra_op_parallelism)
        self._timeout_ms = int(timeout * 1000)
        self._lock = threading.RLock()
        self._clients = {}      # socket name -> _aio.Client
        self._by_dev = {}       # st_dev -> socket name, or None: not a swapfs mount
        self._local = None      # _aio.Local, made on first use
        self._ops = {}
        self._next = 1
        self._queue = []        # (op_id, backend, request) not yet submitted
        self._inflight = {}     # backend -> requests in flight
        self._buffers = {}      # address -> _Shared of new_cpu_locked_tensor / new_buffer
        self._spare = []        # idle bounce buffers (_Shared)
        if mount is not None:
            self._client_for(os.fspath(mount))

    # DeepSpeed's getters
    def get_block_size(self): return self._block
    def get_queue_depth(self): return self._qd
    def get_single_submit(self): return self._single
    def get_overlap_events(self): return self._overlap
    def get_intra_op_parallelism(self): return self._threads
    get_thread_count = get_intra_op_parallelism

    # ---- where a file lives ------------------------------------------------
    def _client_for(self, path):
        """The client of the swapfs mount holding path, or None (another filesystem)."""
        probe = path
        try:
            st = os.stat(probe)
        except FileNotFoundError:
            probe = os.path.dirname(os.path.abspath(path))
            st = os.stat(probe)
        if st.st_dev in self._by_dev:
            name = self._by_dev[st.st_dev]
            return None if name is None else self._clients[name]
        try:
            name = os.getxattr(probe, "swapfs.client")
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES):
                raise
            name = b""
        if not name:
            self._by_dev[st.st_dev] = None
            return None
        if name not in self._clients:
            # buffers made before are adopted by their first operation on a
            # mount (_prepare): never under an operation in flight
            self._clients[name] = _aio.Client(probe, self._timeout_ms)
        self._by_dev[st.st_dev] = name
        return self._clients[name]

    def _buffer_of(self, addr, nbytes):
        """The buffer of new_cpu_locked_tensor/new_buffer holding the range, or None."""
        for shared in self._buffers.values():
            if shared.addr <= addr and addr + nbytes <= shared.addr + shared.nbytes:
                return shared
        return None

    def _in_use(self, shared):
        """Does an operation not yet ended use shared's memory?  Its pages
        must not change under it (an O_DIRECT read in flight would land in
        the old ones)."""
        end = shared.addr + shared.nbytes
        return any(op.addr < end and shared.addr < op.addr + max(op.nbytes, 1)
                   for op in self._ops.values())

    def _share(self, shared, client):
        """Let client's daemon adopt shared if no daemon backs it yet."""
        if shared.owner is not None:
            return      # another daemon's: this client goes through its bounce buffer
        pinned = shared.cuda    # CUDA pinned the old pages: pin the new ones
        _unpin_for_cuda(shared)
        try:
            client.buf_register(shared.addr, shared.nbytes)
            shared.owner = client
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
        finally:
            if pinned:
                _pin_for_cuda(shared)

    def _local_io(self):
        if self._local is None:
            self._local = _aio.Local(min(self._qd, 4096))
        return self._local

    # ---- buffers -----------------------------------------------------------
    def _new_shared(self, nbytes):
        return _Shared(nbytes)      # adopted by a daemon at its first use on a mount

    def new_cpu_locked_tensor(self, num_elem, example_tensor):
        """A CPU tensor of num_elem elements of example_tensor's dtype in
        page-aligned locked memory; no mount is needed to make one.  The
        daemon of the first swapfs mount it is used with adopts it (zero-copy
        I/O there, the same tensor); other mounts copy through a bounce buffer."""
        import torch
        dtype = example_tensor.dtype
        nbytes = int(num_elem) * torch.empty(0, dtype=dtype).element_size()
        with self._lock:
            shared = self._new_shared(nbytes)
            t = shared.tensor(dtype, int(num_elem))
            self._buffers[shared.addr] = shared
        return t

    def new_buffer(self, nbytes, mount=None):
        """A writable numpy uint8 array of nbytes, as new_cpu_locked_tensor."""
        with self._lock:
            if mount is not None:
                self._client_for(os.fspath(mount))
            shared = self._new_shared(nbytes)
            self._buffers[shared.addr] = shared
        return shared.array(nbytes)

    def free_cpu_locked_tensor(self, tensor):
        """True if tensor came from new_cpu_locked_tensor of this handle (now
        freed), else False, as DeepSpeed.  Its memory goes back when the
        last reference to the tensor goes."""
        addr = tensor.data_ptr() if _is_torch(tensor) else _host_address(tensor, False)[0]
        with self._lock:
            shared = self._buffers.pop(addr, None)
            if shared is None:
                return False
            if shared.owner is not None:
                try:
                    shared.owner.buf_free(shared.addr)
                except OSError:
                    pass    # a dead daemon: nothing left to undo
                shared.owner = None
        return True

    free_buffer = free_cpu_locked_tensor

    def _bounce(self, nbytes):
        best = None
        for i, s in enumerate(self._spare):
            if s.nbytes >= nbytes and (best is None or s.nbytes < self._spare[best].nbytes):
                best = i
        if best is not None:
            return self._spare.pop(best)
        return self._new_shared(nbytes)

    # ---- operations --------------------------------------------------------
    def _open(self, op, path, client):
        if op.write:
            flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
        else:
            flags = os.O_RDONLY | os.O_CLOEXEC
        op.fd = os.open(path, flags, 0o600)
        if client is None:
            try:
                op.dfd = os.open(path, (flags & ~os.O_CREAT) | os.O_DIRECT | os.O_CLOEXEC)
            except OSError:
                op.dfd = -1     # no O_DIRECT on this filesystem: buffered io_uring

    def _start(self, write, buffer, filename, file_offset, validate, whole_file=False):
        """Queue one operation; its op id, or -1 after a message (DeepSpeed's
        failures before any I/O)."""
        path = os.fsdecode(os.fspath(filename))
        file_offset = int(file_offset)
        nbytes = _nbytes(buffer)
        if not write:
            try:
                file_bytes = os.stat(path).st_size
            except OSError as e:
                _report_file_error(path, " fstat for read", e.errno)
                return -1
            if whole_file:
                assert nbytes == file_bytes, \
                    f"{_LIB}: buffer of {nbytes} bytes for {path} of {file_bytes} bytes"
        if not whole_file and nbytes % self._threads:
            print(f"{_LIB} failure: parallel {'Write' if write else 'Read'} num_bytes = "
                  f"{nbytes} not divisible by thread count = {self._threads}")
            return -1
        op = _Op()
        op.write, op.path, op.user, op.nbytes, op.offset = write, path, buffer, nbytes, file_offset
        op.validate = bool(validate)
        try:
            client = self._client_for(path)
            self._open(op, path, client)
        except OSError as e:
            _report_file_error(path, " open for write " if write else " open for read ", e.errno)
            self._close_fds(op)
            return -1
        try:
            self._prepare(op, client)
        except BaseException:
            self._close_fds(op)
            raise
        op_id = self._next
        self._next += 1
        self._ops[op_id] = op
        self._queue_requests(op_id, op)
        self._pump(False)
        return op_id

    def _prepare(self, op, client):
        """Pick the buffer the requests use (the caller's, or a bounce buffer
        filled from it); register the file with its daemon."""
        buf = op.user
        host = _host_address(buf, writable=not op.write)
        if host is None or (_is_torch(buf) and buf.device.type != "cpu"):
            # CUDA or non-contiguous: a pinned bounce buffer, as DeepSpeed's cpu_op
            op.bounce = self._bounce(op.nbytes)
            if _is_torch(buf) and buf.device.type == "cuda":
                _pin_for_cuda(op.bounce)
            if op.write:
                self._fill_bounce(op)
            else:
                op.copy_back = buf
            op.addr = op.bounce.addr
        else:
            op.addr = host[0]
        if client is not None:
            try:
                shared = op.bounce or self._buffer_of(op.addr, op.nbytes)
                if shared is not None and not self._in_use(shared):
                    self._share(shared, client)     # zero-copy from now on
                op.file, _ = client.register(op.fd)
                op.backend = client
                return
            except OSError as e:
                if e.errno != errno.EXDEV:
                    raise
                op.dfd = -1     # a path the daemon does not serve: do it here
        op.backend = self._local_io()

    def _fill_bounce(self, op):
        buf = op.user
        if _is_torch(buf):
            import torch
            dst = op.bounce.tensor(torch.uint8, op.nbytes)
            src = buf.detach().contiguous().reshape(-1).view(torch.uint8)
            dst.copy_(src)     # device-to-host for CUDA tensors (synchronous)
        else:
            op.bounce.array(op.nbytes)[:] = _byte_view(buf)

    def _queue_requests(self, op_id, op):
        nbytes = op.nbytes
        if not op.write:    # nothing to ask for past the end of the file
            size = os.fstat(op.fd).st_size
            nbytes = max(0, min(nbytes, size - op.offset))
        kind = _aio.WRITE if op.write else _aio.READ
        client = op.backend if op.file >= 0 else None
        for pos in range(0, nbytes, self._block):
            n = min(self._block, nbytes - pos)
            addr, off = op.addr + pos, op.offset + pos
            handle = op.file
            if client is None:
                aligned = not (addr % _PAGE or n % _PAGE or off % _PAGE)
                handle = op.dfd if aligned and op.dfd >= 0 else op.fd
            self._queue.append((op_id, op.backend, (kind, handle, addr, n, off, op_id)))
            op.left += 1

    def _pump(self, block):
        """Submit queued requests up to the queue depth; collect completions
        (waiting for one if block).  Returns the number collected."""
        room = min(self._qd, 4096) - sum(self._inflight.values())
        while room > 0 and self._queue:
            backend = self._queue[0][1]
            batch = []
            for _, b, req in self._queue:
                if b is not backend or len(batch) == room:
                    break
                batch.append(req)
            n = backend.submit(batch)
            if not n:
                break
            del self._queue[:n]
            self._inflight[backend] = self._inflight.get(backend, 0) + n
            room -= n
        active = [b for b, n in self._inflight.items() if n]
        got = 0
        for b in active:
            wait_min = 1 if block and len(active) == 1 else 0
            got += self._collect(b, b.wait(wait_min, 4096, self._timeout_ms))
        if block and not got and len(active) > 1:
            deadline = time.monotonic() + self._timeout_ms / 1000
            while not got:
                for b in active:
                    try:
                        got += self._collect(b, b.wait(1, 4096, 1))
                    except OSError as e:
                        if e.errno != errno.ETIMEDOUT:
                            raise
                if not got and time.monotonic() > deadline:
                    raise OSError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT))
        return got

    def _collect(self, backend, completions):
        for user_data, result in completions:
            self._inflight[backend] -= 1
            op = self._ops[user_data]
            op.left -= 1
            if result < 0 and not op.error:
                op.error = -result
            elif result > 0:
                op.done_bytes += result
        return len(completions)

    def _close_fds(self, op):
        for fd in (op.fd, op.dfd):
            if fd >= 0:
                os.close(fd)
        op.fd = op.dfd = -1

    def _finish(self, op_id):
        """End a completed operation: unregister, IN_MODIFY, copy back,
        validate.  Raises OSError if it failed."""
        op = self._ops.pop(op_id)
        try:
            if op.file >= 0:
                try:
                    op.backend.unregister(op.file)
                except OSError as e:
                    op.error = op.error or e.errno
                if op.write and not op.error and op.done_bytes:
                    # the bytes went around the VFS: tell inotify as write() would
                    try:
                        _aio.notify_modify(op.fd, op.offset)
                    except OSError:
                        pass
        finally:
            self._close_fds(op)
        if op.bounce is not None:
            if op.copy_back is not None and not op.error:
                self._copy_back(op)
            self._spare.append(op.bounce)
        if op.error:
            raise OSError(op.error, os.strerror(op.error), op.path)
        if op.validate:
            self._validate(op)

    def _copy_back(self, op):
        import torch
        dst = op.copy_back
        src = op.bounce.tensor(torch.uint8, op.nbytes)
        if _is_torch(dst):
            flat = src.view(dst.dtype).reshape(dst.shape) if dst.numel() else src[:0]
            dst.copy_(flat)     # host-to-device for CUDA tensors
        else:
            import numpy as np
            dst[...] = np.frombuffer(op.bounce.mm, dtype=dst.dtype, count=dst.size).reshape(dst.shape)

    def _validate(self, op):
        """DeepSpeed's validate_aio_operation: the buffer against a plain read()."""
        with open(op.path, "rb") as f:
            f.seek(op.offset)
            disk = f.read(op.nbytes)
        mem = _byte_view(op.user).tobytes()
        if not op.write:
            mem = mem[:len(disk)]
        what = f"{_LIB}_{'read' if not op.write else 'write'}() using read()"
        if disk == mem:
            print(f"Pass: correctness of {what}")
            return True
        print(f"Fail: correctness of {what}")
        return False

    def _complete(self, ids):
        """Drive the operations ids to completion and end them; returns how
        many; raises the first OSError after all are ended."""
        while any(self._ops[i].left for i in ids):
            self._pump(True)
        first_error = None
        for i in ids:
            try:
                self._finish(i)
            except OSError as e:
                first_error = first_error or e
        if first_error:
            raise first_error
        return len(ids)

    def _rw(self, write, buffer, filename, validate, async_op, file_offset, kw):
        """pwrite/pread: queue one request, then wait unless async."""
        async_op = kw.pop("async", async_op)
        if kw:
            raise TypeError(f"unexpected arguments {sorted(kw)}")
        with self._lock:
            if self._start(write, buffer, filename, file_offset, validate) < 0:
                return -1
            return 0 if async_op else self.wait()

    def pwrite(self, buffer, filename, validate=False, async_op=False, file_offset=0, **kw):
        """Write buffer to filename at file_offset: 0 when queued (async),
        else wait()'s count; -1 if the file cannot be opened or the size is
        not divisible by intra_op_parallelism.  async= is accepted too."""
        return self._rw(True, buffer, filename, validate, async_op, file_offset, kw)

    def pread(self, buffer, filename, validate=False, async_op=False, file_offset=0, **kw):
        """Read filename from file_offset into buffer (DeepSpeed: the buffer
        may be larger than the file, for alignment): as pwrite."""
        return self._rw(False, buffer, filename, validate, async_op, file_offset, kw)

    def sync_pwrite(self, buffer, filename, file_offset=0):
        """pwrite now: the number of operations completed (with any queued before)."""
        return self.pwrite(buffer, filename, False, False, file_offset)

    def sync_pread(self, buffer, filename, file_offset=0):
        return self.pread(buffer, filename, False, False, file_offset)

    def async_pwrite(self, buffer, filename, file_offset=0):
        """Queue a write: 0 (or -1, as pwrite); wait() completes it."""
        return self.pwrite(buffer, filename, False, True, file_offset)

    def async_pread(self, buffer, filename, file_offset=0):
        return self.pread(buffer, filename, False, True, file_offset)

    def _whole(self, write, buffer, filename, validate, file_offset):
        start = time.perf_counter()
        with self._lock:
            op_id = self._start(write, buffer, filename, file_offset, False, whole_file=True)
            if op_id < 0:
                return -1
            self._complete([op_id])
        aio = time.perf_counter() - start
        if validate:
            op = _Op()
            op.write, op.path, op.user, op.offset = write, os.fsdecode(os.fspath(filename)), \
                buffer, int(file_offset)
            op.nbytes = _nbytes(buffer)
            self._validate(op)
        call = time.perf_counter() - start
        print(f"Elapsed time(usec): aio = {aio * 1e6} call = {call * 1e6}")
        return 0

    def read(self, buffer, filename, validate=False, file_offset=0):
        """DeepSpeed's synchronous whole-file read: the buffer must be the
        file's size (AssertionError otherwise); 0, or -1 if the file is missing."""
        return self._whole(False, buffer, filename, validate, file_offset)

    def write(self, buffer, filename, validate=False, file_offset=0):
        """DeepSpeed's synchronous whole-buffer write: 0, or -1 if the file cannot be opened."""
        return self._whole(True, buffer, filename, validate, file_offset)

    def wait(self):
        """Complete every queued operation; returns how many completed.
        Raises OSError for the first one that failed (all are completed)."""
        with self._lock:
            return self._complete(list(self._ops))

    def fsync(self, filename):
        """Make filename's data and metadata durable."""
        fd = os.open(os.fspath(filename), os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self):
        with self._lock:
            try:
                if self._ops:
                    self.wait()
            finally:
                for client in self._clients.values():
                    client.close()  # adopted buffers stay mapped, owned by no daemon
                for shared in list(self._buffers.values()) + self._spare:
                    shared.owner = None
                self._clients.clear()
                self._by_dev.clear()
                if self._local is not None:
                    self._local.close()
                    self._local = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _one_shot(write, buffer, filename, block_size, queue_depth, single_submit, overlap_events,
              validate):
    h = aio_handle(block_size, queue_depth, single_submit, overlap_events, 1)
    try:
        return h.write(buffer, filename, validate) if write else h.read(buffer, filename, validate)
    finally:
        h.close()


def aio_read(buffer, filename, block_size, queue_depth, single_submit, overlap_events, validate):
    """DeepSpeed's aio_read: the whole file into buffer (its size); 0, or -1."""
    return _one_shot(False, buffer, filename, block_size, queue_depth, single_submit,
                     overlap_events, validate)


def aio_write(buffer, filename, block_size, queue_depth, single_submit, overlap_events, validate):
    """DeepSpeed's aio_write: buffer to filename; 0, or -1."""
    return _one_shot(True, buffer, filename, block_size, queue_depth, single_submit,
                     overlap_events, validate)


def deepspeed_memcpy(dest, src):
    """DeepSpeed's deepspeed_memcpy: dest.copy_(src); 0."""
    dest.copy_(src)
    return 0
