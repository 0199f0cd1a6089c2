"""client_aio.py MOUNT: swapfs.aio as DeepSpeed's swapper uses it, with torch
tensors and numpy arrays, checked against the mount's POSIX view."""
import errno
import os
import sys

import numpy as np
import torch

from swapfs.aio import aio_handle

mnt = sys.argv[1]
h = aio_handle(block_size=1 << 20, queue_depth=16, single_submit=False,
               overlap_events=True, intra_op_parallelism=1, mount=mnt)
assert (h.get_block_size(), h.get_queue_depth()) == (1 << 20, 16)

# optimizer-state swap out and in: pinned tensors, several files at once
os.makedirs(mnt + "/opt", exist_ok=True)
states = []
for i in range(4):
    t = h.new_cpu_locked_tensor(3_000_000 + 1000 * i, torch.empty(0, dtype=torch.float32))
    t.copy_(torch.randn(t.numel(), generator=torch.Generator().manual_seed(i)))
    states.append(t)
    h.async_pwrite(t, f"{mnt}/opt/state.{i}")
assert h.wait() == 4
for i, t in enumerate(states):   # through the mount, at once
    back = np.fromfile(f"{mnt}/opt/state.{i}", dtype=np.float32)
    assert np.array_equal(back, t.numpy()), f"state {i} differs through the mount"
ins = [h.new_cpu_locked_tensor(t.numel(), t) for t in states]
for i, t in enumerate(ins):
    h.async_pread(t, f"{mnt}/opt/state.{i}")
assert h.wait() == 4
for a, b in zip(states, ins):
    assert torch.equal(a, b), "swap-in differs"

# ordinary tensors and arrays (bounce path), torch.save read by the client
plain = torch.arange(1_000_003, dtype=torch.int64)
assert h.sync_pwrite(plain, mnt + "/plain.bin") == 1   # operations, as DeepSpeed
assert np.array_equal(np.fromfile(mnt + "/plain.bin", dtype=np.int64), plain.numpy())
torch.save({"w": torch.ones(1000, 1000)}, mnt + "/model.pt")
raw = np.empty(os.path.getsize(mnt + "/model.pt"), dtype=np.uint8)
assert h.sync_pread(raw, mnt + "/model.pt") == 1
assert raw.tobytes() == open(mnt + "/model.pt", "rb").read()

# file_offset, fsync, reading into a read-only buffer refused
arr = h.new_buffer(1 << 20)
arr[:] = 7
h.sync_pwrite(arr, mnt + "/off.bin", file_offset=5 << 20)
assert os.path.getsize(mnt + "/off.bin") == 6 << 20
h.fsync(mnt + "/off.bin")
try:
    h.sync_pread(b"\0" * 4096, mnt + "/off.bin")
    raise AssertionError("read into bytes accepted")
except ValueError:
    pass
# a file this user may not write: the kernel's check decides
os.chmod(mnt + "/plain.bin", 0o444)
if os.getuid() != 0:
    # DeepSpeed's answer to a file it cannot open: -1 and a message
    assert h.sync_pwrite(plain, mnt + "/plain.bin") == -1, "write to a read-only file accepted"
assert h.sync_pread(arr, mnt + "/no-such-file") == -1, "missing file accepted"
for t in states + ins:
    assert h.free_cpu_locked_tensor(t) is True
h.close()
print("client_aio: ok")
