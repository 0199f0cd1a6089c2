"""swapfs: Python access to the swapfs tensor swap filesystem's client path.

swapfs.aio.aio_handle moves tensors between memory and files on a swapfs
mount with no copy through FUSE (see docs/CLIENT.md).
"""
# The C extension may be built in another directory than this file lives in
# (out-of-tree builds): look for the package's parts on all of sys.path.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
