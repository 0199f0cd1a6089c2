"""swapfs.deepspeed: make DeepSpeed use swapfs.aio as its async I/O op.

One line, before DeepSpeed builds its swappers (before deepspeed.initialize):

    import swapfs.deepspeed; swapfs.deepspeed.install()

Afterwards ``AsyncIOBuilder().load()`` (what ZeRO-Infinity's optimizer and
parameter swappers and DeepNVMe call) returns the module swapfs.aio, whose
``aio_handle`` serves files on swapfs mounts through the client path and
any other file through its own O_DIRECT io_uring.  No op is compiled, so
the builder also reports itself compatible.

How: DeepSpeed's ``OpBuilder.load()`` returns ``OpBuilder._loaded_ops[name]``
when present (its cache of built ops); install() puts swapfs.aio there
under ``"async_io"``.
"""
import sys

from . import aio as _swapfs_aio

NAME = "async_io"


def install():
    """Register swapfs.aio as DeepSpeed's async_io op; returns the op module."""
    import deepspeed.ops.op_builder as op_builder
    builder = op_builder.AsyncIOBuilder
    base = next((k for k in builder.__mro__ if "_loaded_ops" in vars(k)), builder)
    base._loaded_ops[getattr(builder, "NAME", NAME)] = _swapfs_aio
    builder.is_compatible = lambda self, verbose=False: True
    ops = sys.modules.get("deepspeed.ops")
    if ops is not None and isinstance(getattr(ops, "__compatible_ops__", None), dict):
        ops.__compatible_ops__[getattr(builder, "NAME", NAME)] = True
    return _swapfs_aio
