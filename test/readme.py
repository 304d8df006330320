"""README's board table, made from what the builds and test runs measured, so it cannot drift.

  python3 test/readme.py --write   rewrite the table between the <!-- boards --> markers (make readme)
  python3 test/readme.py --check   the sizes in the table are those of the binaries here (make test)

Sizes come from stat of ./agent and build/cross/agent-ARCH; what ran on each board from the figures
test/cross.sh leaves in build/cross/results-ARCH (its last `make test-cross`) and, for x86_64, the final
line of the last `make test` (build/test-summary). --check looks only at binaries newer than agent.c
(a stale one proves nothing) and prints one "ok"/"not ok" line.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
BUDGET = 320 * 1024
BEGIN, END = "<!-- boards: made by `make readme` -->", "<!-- /boards -->"

# board, what it is for, how it is built, the binary
BOARDS = [
    ("x86_64", "PCs, servers, containers", "`make` → `./agent`", "agent"),
    ("aarch64", "Raspberry Pi 3/4/5 with a 64-bit OS, most new SBCs, ARM servers", "`make ARCH=aarch64`",
     "build/cross/agent-aarch64"),
    ("armv7 hard-float (Thumb-2)", "older Pis and 32-bit Pi OS, many ARM routers and NAS", "`make ARCH=armhf`",
     "build/cross/agent-armhf"),
    ("armel (ARMv5TE Thumb, soft-float)", "Raspberry Pi Zero/Zero W/1, Kirkwood NAS and plug computers, older ARM routers",
     "`make ARCH=armel`", "build/cross/agent-armel"),
    ("mipsel (MIPS16e)", "OpenWrt routers on MediaTek/Ralink SoCs (MT7621, MT7628, MT7620)", "`make ARCH=mipsel`",
     "build/cross/agent-mipsel"),
    ("mips (big-endian, MIPS16e)", "OpenWrt's ath79 and lantiq: most TP-Link, Netgear, older Ubiquiti routers",
     "`make ARCH=mips`", "build/cross/agent-mips"),
    ("riscv64", "VisionFive 2, Milk-V, Lichee and the other new RISC-V boards", "`make ARCH=riscv64`",
     "build/cross/agent-riscv64"),
]


def fresh(path):
    """The binary's size when it exists and is newer than agent.c, else None."""
    p = os.path.join(ROOT, path)
    try:
        st = os.stat(p)
    except OSError:
        return None
    return st.st_size if st.st_mtime >= os.stat(os.path.join(ROOT, "agent.c")).st_mtime else None


def ran(path):
    """What the last test run on this board said, as one cell."""
    if path == "agent":
        f = os.path.join(ROOT, "build", "test-summary")
        return "`make test`: " + open(f).read().strip() if os.path.exists(f) else "(native: `make test`)"
    f = os.path.join(ROOT, "build", "cross", "results-" + path.rsplit("-", 1)[1])
    return open(f).read().strip() if os.path.exists(f) else "(not run here yet)"


def table_rows(text):
    """{board: size} of the table as README has it."""
    body = text[text.index(BEGIN):text.index(END)]
    out = {}
    for ln in body.split("\n"):
        m = re.match(r"^\| ([^|]+) \|[^|]*\|[^|]*\| ([\d,]+) B \|", ln)
        if m:
            out[m.group(1).strip()] = int(m.group(2).replace(",", ""))
    return out


def write():
    text = open(README, encoding="utf-8").read()
    old = table_rows(text)
    rows = ["| board | for | build | stripped size | what ran (last run here) |", "|---|---|---|---:|---|"]
    for name, use, build, path in BOARDS:
        size = fresh(path) or old.get(name)
        if size is None:
            continue
        rows.append("| %s | %s | %s | %s B | %s |" % (name, use, build, format(size, ","), ran(path)))
    i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
    text = text[:i] + "\n" + "\n".join(rows) + "\n" + text[j:]
    sizes = table_rows(text)
    big = max(sizes.values())
    text = re.sub(r"one static binary of about \d+ KB \([^)]*\)",
                  "one static binary of about %d KB (%s KB or less on every board in the table below; the budget is "
                  "320 KB)" % (sizes["x86_64"] // 1024, (big + 1023) // 1024), text)
    open(README, "w", encoding="utf-8").write(text)
    print("README: %d boards, the largest %s B" % (len(sizes), format(big, ",")))


def check():
    text = open(README, encoding="utf-8").read()
    sizes = table_rows(text)
    bad = []
    for name, _, _, path in BOARDS:
        size = fresh(path)
        if size is not None and sizes.get(name) != size:
            bad.append("%s: README says %s, %s is %d B" % (name, sizes.get(name), path, size))
    bad += ["%s: %d B is over the 320 KB budget" % (n, s) for n, s in sizes.items() if s > BUDGET]
    if bad:
        print("not ok - README's board table matches the binaries: run make readme (%s)" % "; ".join(bad))
        return 1
    print("ok - README's board table matches the binaries (%d checked)" % sum(
        1 for _, _, _, p in BOARDS if fresh(p) is not None))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    elif sys.argv[1:] == ["--check"]:
        sys.exit(check())
    else:
        sys.exit(__doc__)
