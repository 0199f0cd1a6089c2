"""swapfs.aio: a DeepSpeed-style asynchronous I/O handle over libswapfs.

    from swapfs.aio import aio_handle
    h = aio_handle(block_size=1 << 20, queue_depth=32)
    buf = h.new_cpu_locked_tensor(n, torch.empty(0, dtype=torch.float16))
    h.async_pwrite(buf, "/mnt/swap/opt/state.0")   # queued
    h.wait()                                        # -> 1 (operations completed)
    h.sync_pread(buf, "/mnt/swap/opt/state.0")      # -> bytes read

Each operation moves one whole buffer (a torch tensor on the CPU, a numpy
array, or anything with the buffer protocol) to or from one file, in
block_size requests with up to queue_depth of them in flight.  Buffers from
new_cpu_locked_tensor / new_buffer live in memory shared with the daemon
and move with no copy; others go through a shared bounce buffer (one
memcpy).  Writes open the file O_WRONLY | O_CREAT without truncating, as
DeepSpeed's handle does; a completed operation has close() semantics (its
bytes survive a crash of the daemon), fsync() makes them durable.
Errors raise OSError; waits give up after timeout seconds (default 60).
"""
import os

from . import _aio

__all__ = ["aio_handle"]


def _address(buf, writable):
    """(address, nbytes) of a contiguous CPU buffer."""
    if hasattr(buf, "data_ptr") and hasattr(buf, "element_size"):  # torch.Tensor
        if buf.device.type != "cpu":
            raise ValueError("swapfs.aio needs CPU tensors (copy CUDA tensors to a pinned buffer)")
        if not buf.is_contiguous():
            raise ValueError("swapfs.aio needs contiguous tensors")
        return buf.data_ptr(), buf.numel() * buf.element_size()
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency on Debian
        np = None
    if np is not None:
        arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
        if not arr.flags["C_CONTIGUOUS"]:
            raise ValueError("swapfs.aio needs C-contiguous arrays")
        if writable and not arr.flags["WRITEABLE"]:
            raise ValueError("cannot read into a read-only buffer")
        return arr.ctypes.data, arr.nbytes
    import ctypes
    mv = memoryview(buf)
    if not mv.contiguous or mv.readonly:
        raise ValueError("swapfs.aio needs a contiguous writable buffer without numpy")
    return ctypes.addressof(ctypes.c_char.from_buffer(mv)), mv.nbytes


class _Op:
    __slots__ = ("file", "chunks", "left", "error", "nbytes", "keep", "path", "sync")

    def __init__(self, path, keep):
        self.path, self.keep = path, keep
        self.file, self.chunks, self.left, self.error, self.nbytes = -1, [], 0, 0, 0
        self.sync = False


class aio_handle:
    """aio_handle(block_size, queue_depth, single_submit, overlap_events,
    intra_op_parallelism, timeout=60.0, mount=None)

    The argument list of DeepSpeed's aio_handle; single_submit,
    overlap_events and intra_op_parallelism are accepted and reported but
    the daemon decides how requests spread over devices.  mount: a path on
    the swapfs mount to connect to (default: the first file used)."""

    def __init__(self, block_size=1 << 20, queue_depth=32, single_submit=False,
                 overlap_events=True, intra_op_parallelism=1, timeout=60.0, mount=None):
        if block_size <= 0 or queue_depth <= 0:
            raise ValueError("block_size and queue_depth must be positive")
        self._block, self._qd = int(block_size), int(queue_depth)
        self._single, self._overlap = bool(single_submit), bool(overlap_events)
        self._threads = int(intra_op_parallelism)
        self._timeout_ms = int(timeout * 1000)
        self._client = None
        self._ops = {}
        self._next = 1
        self._queue = []        # (op_id, request tuple) not yet submitted
        self._inflight = 0
        self._buffers = {}      # address -> memoryview of shared buffers
        if mount is not None:
            self._connect(mount)

    # DeepSpeed's getters
    def get_block_size(self): return self._block
    def get_queue_depth(self): return self._qd
    def get_single_submit(self): return self._single
    def get_overlap_events(self): return self._overlap
    def get_intra_op_parallelism(self): return self._threads
    get_thread_count = get_intra_op_parallelism

    def _connect(self, path):
        if self._client is None:
            where = path if os.path.exists(path) else (os.path.dirname(os.path.abspath(path)))
            self._client = _aio.Client(where, self._timeout_ms)
        return self._client

    # ---- buffers -----------------------------------------------------------
    def new_buffer(self, nbytes, mount=None):
        """A writable numpy uint8 array of nbytes in memory shared with the daemon."""
        import numpy as np
        client = self._client if mount is None else self._connect(mount)
        if client is None:
            raise ValueError("no mount yet: pass mount= (a path on the swapfs mount)")
        mv = client.buf_alloc(int(nbytes))
        arr = np.frombuffer(mv, dtype=np.uint8)
        self._buffers[arr.ctypes.data] = mv
        return arr

    def new_cpu_locked_tensor(self, num_elem, example_tensor, mount=None):
        """A CPU tensor of num_elem elements of example_tensor's dtype, in
        locked memory shared with the daemon (zero-copy I/O)."""
        import torch
        dtype = example_tensor.dtype
        nbytes = int(num_elem) * torch.empty(0, dtype=dtype).element_size()
        client = self._client if mount is None else self._connect(mount)
        if client is None:
            raise ValueError("no mount yet: pass mount= (a path on the swapfs mount)")
        mv = client.buf_alloc(max(nbytes, 1))
        t = torch.frombuffer(mv, dtype=dtype, count=int(num_elem))
        self._buffers[t.data_ptr()] = mv
        return t

    def free_cpu_locked_tensor(self, tensor):
        addr = tensor.data_ptr() if hasattr(tensor, "data_ptr") else tensor.ctypes.data
        if self._buffers.pop(addr, None) is None:
            raise ValueError("not a buffer of this handle")
        self._client.buf_free(addr)

    free_buffer = free_cpu_locked_tensor

    # ---- operations --------------------------------------------------------
    def _start(self, write, buffer, path, file_offset):
        path = os.fspath(path)
        addr, nbytes = _address(buffer, writable=not write)
        client = self._connect(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC if write
                     else os.O_RDONLY | os.O_CLOEXEC, 0o644)
        try:
            file, size = client.register(fd)
        finally:
            os.close(fd)
        op = _Op(path, buffer)
        op.file = file
        op_id = self._next
        self._next += 1
        self._ops[op_id] = op
        if not write:
            nbytes = max(0, min(nbytes, size - file_offset))
        kind = _aio.WRITE if write else _aio.READ
        for pos in range(0, nbytes, self._block):
            n = min(self._block, nbytes - pos)
            self._queue.append((op_id, (kind, file, addr + pos, n, file_offset + pos, op_id)))
            op.left += 1
        if not op.left:
            op.left = 0
        self._pump(0)
        return op_id

    def _pump(self, min_done):
        """Submit queued requests up to the queue depth; collect completions."""
        client = self._client
        room = self._qd - self._inflight
        if room > 0 and self._queue:
            batch = self._queue[:room]
            n = client.submit([req for _, req in batch])
            del self._queue[:n]
            self._inflight += n
        done = []
        if self._inflight:
            for user_data, result in client.wait(min(min_done, self._inflight), 4096,
                                                 self._timeout_ms):
                self._inflight -= 1
                op = self._ops[user_data]
                op.left -= 1
                if result < 0 and not op.error:
                    op.error = -result
                elif result > 0:
                    op.nbytes += result
                if op.left == 0:
                    done.append(user_data)
        return done

    def _finish(self, op_id):
        op = self._ops.pop(op_id)
        try:
            self._client.unregister(op.file)
        except OSError as e:
            op.error = op.error or e.errno
        if op.error:
            raise OSError(op.error, os.strerror(op.error), op.path)
        return op.nbytes

    def _complete(self, ids):
        """Drive every request of ops ids to completion; returns their byte counts."""
        pending = [i for i in ids if self._ops[i].left]
        while any(self._ops[i].left for i in pending):
            self._pump(1)
        results, first_error = [], None
        for i in ids:
            try:
                results.append(self._finish(i))
            except OSError as e:
                first_error = first_error or e
        if first_error:
            raise first_error
        return results

    def async_pwrite(self, buffer, filename, file_offset=0):
        """Queue writing buffer to filename at file_offset; wait() completes it."""
        self._start(True, buffer, filename, file_offset)
        return 0

    def async_pread(self, buffer, filename, file_offset=0):
        """Queue reading filename from file_offset into buffer; wait() completes it."""
        self._start(False, buffer, filename, file_offset)
        return 0

    def sync_pwrite(self, buffer, filename, file_offset=0):
        """Write buffer to filename now; returns the bytes written."""
        return self._complete([self._start(True, buffer, filename, file_offset)])[0]

    def sync_pread(self, buffer, filename, file_offset=0):
        """Read filename into buffer now; returns the bytes read."""
        return self._complete([self._start(False, buffer, filename, file_offset)])[0]

    def pwrite(self, buffer, filename, validate=False, async_op=False, file_offset=0):
        return (self.async_pwrite if async_op else self.sync_pwrite)(buffer, filename, file_offset)

    def pread(self, buffer, filename, validate=False, async_op=False, file_offset=0):
        return (self.async_pread if async_op else self.sync_pread)(buffer, filename, file_offset)

    def wait(self):
        """Complete every queued operation; returns how many completed.
        Raises OSError for the first one that failed (all are completed)."""
        return len(self._complete(list(self._ops)))

    def fsync(self, filename):
        """Make filename's data and metadata durable."""
        fd = os.open(os.fspath(filename), os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self):
        if self._client is not None:
            if self._ops:
                self.wait()
            self._client.close()
            self._client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
