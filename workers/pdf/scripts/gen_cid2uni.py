#!/usr/bin/env python3
"""Generate data/<Ordering>.cid2uni.z from Adobe's Adobe-<Ordering>-UCS2 CMaps
(BSD-3-Clause, from Adobe's cmap-resources, shipped by Debian's poppler-data under
/usr/share/poppler/cMap). Output: a dense little-endian u32 array indexed by CID
(0 = unmapped; a CID mapped to several UTF-16 units keeps the first character),
zlib-compressed. Run: python3 scripts/gen_cid2uni.py [OUT_DIR]"""
import re, sys, os, zlib

SRC = "/usr/share/poppler/cMap"
ORDERINGS = ["Japan1", "GB1", "CNS1", "Korea1"]
out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data")
hexes = re.compile(r"<([0-9a-fA-F]*)>")


def first_char(h):
    units = [int(h[i:i + 4], 16) for i in range(0, len(h), 4)]
    if not units:
        return 0
    u = units[0]
    if 0xD800 <= u < 0xDC00 and len(units) > 1:
        return 0x10000 + ((u - 0xD800) << 10) + (units[1] - 0xDC00)
    return u


for ordering in ORDERINGS:
    text = open(os.path.join(SRC, "Adobe-" + ordering, "Adobe-%s-UCS2" % ordering), encoding="latin-1").read()
    cid2u = {}
    mode = None
    for line in text.splitlines():
        line = line.strip()
        if line.endswith("beginbfchar"):
            mode = "c"; continue
        if line.endswith("beginbfrange"):
            mode = "r"; continue
        if line.startswith("endbf"):
            mode = None; continue
        if not mode:
            continue
        hs = hexes.findall(line)
        if mode == "c" and len(hs) >= 2:
            cid2u[int(hs[0], 16)] = first_char(hs[1])
        elif mode == "r" and len(hs) >= 3:
            lo, hi = int(hs[0], 16), int(hs[1], 16)
            if "[" in line:
                for i, h in enumerate(hs[2:]):
                    cid2u[lo + i] = first_char(h)
            else:
                base = first_char(hs[2])
                for c in range(lo, hi + 1):
                    cid2u[c] = base + c - lo
    n = max(cid2u) + 1
    dense = bytearray(4 * n)
    for cid, u in cid2u.items():
        dense[4 * cid:4 * cid + 4] = u.to_bytes(4, "little")
    with open(os.path.join(out_dir, ordering + ".cid2uni.z"), "wb") as f:
        f.write(zlib.compress(bytes(dense), 9))
    print(ordering, len(cid2u), "cids, max", n - 1)
