#!/usr/bin/python3
"""crash_io.py - workloads for the crash test.

  crash_io.py MNT STATE durable ROUND   write+fsync and write+close files, log them in STATE
  crash_io.py MNT STATE churn ROUND     write, rename over, truncate forever (killed mid-way)
  crash_io.py MNT STATE verify          every logged file intact; nothing shows foreign bytes
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from patterns import intact, pattern  # noqa: E402

MNT, STATE, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
STALE = b"\xab" * 4096




def write(path, data, sync):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if sync:
        os.fsync(fd)
    os.close(fd)


def log(line):
    with open(STATE, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


if MODE == "durable":
    rnd = int(sys.argv[4])
    # a deleted tensor full of a marker byte: must never reappear anywhere
    write(os.path.join(MNT, f"stale{rnd}"), STALE * 256, True)
    os.unlink(os.path.join(MNT, f"stale{rnd}"))
    for i in range(12):
        name = f"r{rnd}_f{i}"
        size = 1 + (i * 797_531 + rnd * 131_071) % (6 << 20)
        write(os.path.join(MNT, name), pattern(name, size), sync=(i % 2 == 0))
        log(f"{name} {size}")
elif MODE == "churn":
    rnd = int(sys.argv[4])
    v = 0
    while True:
        v += 1
        tmp = os.path.join(MNT, f"tgt{rnd}.tmp")
        write(tmp, pattern(f"tgt{rnd}:{v}", 1 << 20), True)
        os.rename(tmp, os.path.join(MNT, f"tgt{rnd}"))
        log(f"tgt{rnd} version {v}")
        name = f"c{rnd}_{v}"
        write(os.path.join(MNT, name), pattern(name, (v * 300_007) % (4 << 20) + 1), False)
        if v % 3 == 0:
            os.truncate(os.path.join(MNT, name), 1000)
else:
    bad = 0
    versions = {}
    for line in open(STATE):
        parts = line.split()
        if parts[1] == "version":
            versions.setdefault(parts[0], set()).add(int(parts[2]))
            continue
        name, size = parts[0], int(parts[1])
        bad += intact(os.path.join(MNT, name), name, pattern(name, size))
    for tgt, vs in versions.items():
        # rename-over is atomic: the target is one whole version, never a mix
        # (an un-fsynced rename may be lost, so an older version is fine)
        try:
            data = open(os.path.join(MNT, tgt), "rb").read()
        except FileNotFoundError:
            continue
        if not any(data == pattern(f"{tgt}:{v}", 1 << 20) for v in range(1, max(vs) + 2)):
            print(f"TORN RENAME {tgt}")
            bad += 1
    checked = 0
    for entry in os.scandir(MNT):
        if not entry.is_file():
            continue
        data = open(entry.path, "rb").read()
        checked += 1
        if STALE in data:
            print(f"STALE BYTES in {entry.name}")
            bad += 1
        name = entry.name
        if name.startswith("c"):
            # unsynced file: each byte is the file's own or zero
            want = pattern(name, len(data))
            for off in range(0, len(data), 4096):
                blk = data[off:off + 4096]
                if blk != want[off:off + 4096] and blk.strip(b"\0"):
                    # allow a mix of own bytes and zeros inside the block
                    if any(b and b != w for b, w in zip(blk, want[off:off + 4096])):
                        print(f"FOREIGN BYTES in {name} at {off}")
                        bad += 1
                        break
    print(f"verified {checked} files, {bad} problems")
    sys.exit(1 if bad else 0)
