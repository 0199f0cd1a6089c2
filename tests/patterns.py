"""patterns.py - deterministic test data shared by the Python tests."""
import hashlib


def pattern(name, n):
    """n bytes that depend only on name (sha256 blocks of name:i)."""
    out, i = bytearray(), 0
    while len(out) < n:
        out += hashlib.sha256(f"{name}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def intact(path, name, want):
    """0 if the file at path holds the bytes want; else 1, with a line
    LOST NAME (unreadable) or DAMAGED NAME (other bytes) printed."""
    try:
        got = open(path, "rb").read()
    except OSError as e:
        print(f"LOST {name}: {e}")
        return 1
    if got != want:
        print(f"DAMAGED {name}: {len(got)} bytes, expected {len(want)}")
        return 1
    return 0
