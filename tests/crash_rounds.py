#!/usr/bin/python3
"""crash_rounds.py - the tensor workload of tests/crash_rounds.sh.

  crash_rounds.py MNT STATE write ROUND   forever: tensor files of random sizes,
                                          each fsynced; new versions fsynced and
                                          renamed over old names; log in STATE
  crash_rounds.py MNT STATE verify        every fsynced file intact after a crash

STATE lines (appended and fsynced once the step they name returned):
  file NAME SEED SIZE     NAME was written and fsynced (never rewritten)
  ver NAME V SEED SIZE    version V of NAME written and fsynced as a temporary
  ren NAME V              ... and renamed over NAME (not yet durable)
  sync                    a later fsync returned: every earlier step is durable
  rm NAME                 NAME about to be unlinked
  seen NAME V             verify found version V under NAME after the crash
                          (what a pending rename came to; later syncs keep it)
  seen NAME -             verify found no NAME after the crash: the renames
                          pending at the crash were undone (a later round's
                          sync covers only what that round did)
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from patterns import intact  # noqa: E402

MNT, STATE, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
NAMES = 24		# rename-over targets t0..t23
KEEP_ROUNDS = 2		# fresh files of older rounds are removed


def data(seed, size):
    return random.Random(seed).randbytes(size)


def write(path, blob):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def log(f, line):
    f.write(line + "\n")
    f.flush()
    os.fsync(f.fileno())


def size_of(rnd):
    # mostly small tensors, some of a few MiB, now and then an empty one
    k = rnd.random()
    if k < 0.05:
        return 0
    if k < 0.8:
        return rnd.randrange(1, 256 << 10)
    return rnd.randrange(256 << 10, 3 << 20)


def write_mode(rnd_no):
    rnd = random.Random(rnd_no * 7919 + os.getpid())
    st = open(STATE, "a")
    # leftovers of the crash: temporaries, fresh files of old rounds
    for e in os.scandir(MNT):
        if ".tmp" in e.name:
            os.unlink(e.path)
        elif e.name.startswith("f") and int(e.name[1:].split("_")[0]) < rnd_no - KEEP_ROUNDS:
            log(st, f"rm {e.name}")	# before: a crash may keep it, never lose it
            os.unlink(e.path)
    i = 0
    while True:
        i += 1
        if rnd.random() < 0.5:
            name, seed, size = f"f{rnd_no}_{i}", rnd.getrandbits(48), size_of(rnd)
            write(os.path.join(MNT, name), data(seed, size))
            log(st, "sync")
            log(st, f"file {name} {seed} {size}")
        else:
            name, seed, size = f"t{rnd.randrange(NAMES)}", rnd.getrandbits(48), size_of(rnd)
            v = f"{rnd_no}.{i}"
            tmp = os.path.join(MNT, f"{name}.tmp{v}")
            write(tmp, data(seed, size))
            log(st, "sync")
            log(st, f"ver {name} {v} {seed} {size}")
            os.rename(tmp, os.path.join(MNT, name))
            log(st, f"ren {name} {v}")


def verify():
    files, gone = {}, set()
    vers = {}		# (name, v) -> (seed, size)
    order = {}		# name -> its versions in the order written
    durable = {}	# name -> version whose rename a later fsync made durable
    pending = {}	# name -> versions renamed since (may or may not have landed)
    for line in open(STATE):
        p = line.split()
        if not p:
            continue
        if p[0] == "file":
            files[p[1]] = (int(p[2]), int(p[3]))
            gone.discard(p[1])
        elif p[0] == "rm":
            gone.add(p[1])
        elif p[0] == "ver":
            vers[(p[1], p[2])] = (int(p[3]), int(p[4]))
            order.setdefault(p[1], []).append(p[2])
        elif p[0] == "ren":
            pending.setdefault(p[1], []).append(p[2])
        elif p[0] == "seen":
            if p[2] == "-":
                durable.pop(p[1], None)
            else:
                durable[p[1]] = p[2]
            pending.pop(p[1], None)
        elif p[0] == "sync":
            for name, vs in pending.items():
                durable[name] = vs[-1]
            pending = {}
    bad = 0
    seen = []
    for name, (seed, size) in files.items():
        if name in gone:
            continue
        bad += intact(os.path.join(MNT, name), name, data(seed, size))
    for name, vs in order.items():
        # the durable version or any written after it (a rename the crash
        # caught may have landed before its line was logged)
        ok = vs[vs.index(durable[name]):] if name in durable else vs
        try:
            got = open(os.path.join(MNT, name), "rb").read()
        except FileNotFoundError:
            if name in durable:
                print(f"LOST {name} (version {durable[name]} was durable)")
                bad += 1
            else:
                seen.append(f"seen {name} -")
            continue
        match = [v for v in ok if got == data(*vers[(name, v)])]
        if match:
            seen.append(f"seen {name} {match[-1]}")
        else:
            print(f"WRONG VERSION {name}: {len(got)} bytes, none of {ok}")
            bad += 1
    if not bad:
        with open(STATE, "a") as f:
            for line in seen:
                log(f, line)
    print(f"verified {len(files) - len(gone & set(files))} files, "
          f"{len(order)} renamed names, {bad} problems")
    return 1 if bad else 0


if MODE == "write":
    write_mode(int(sys.argv[4]))
else:
    sys.exit(verify())
