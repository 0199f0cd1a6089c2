"""patterns.py - deterministic test data shared by the Python tests."""
import hashlib


def pattern(name, n):
    """n bytes that depend only on name (sha256 blocks of name:i)."""
    out, i = bytearray(), 0
    while len(out) < n:
        out += hashlib.sha256(f"{name}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])
