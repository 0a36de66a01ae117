#!/usr/bin/env python3
# fuzz/make_corpus.py — writes the fuzzers' seed corpora (fuzz/corpus/), committed with the targets.
"""Writes the fuzzers' seed corpora (fuzz/corpus/), committed with the targets; run it again only to
change them.

    python3 fuzz/make_corpus.py [--out fuzz/corpus]

index/        60 of the index strings of tests/index_test.cpp (valid and invalid ones alike), one a file
npy_header/   the headers np.save writes: every dtype kind, both byte orders, records (nested, with
              sub-arrays, titles, a non-ASCII name: a 3.0 header), datetimes with units, zero-size
              items, 0-d, empty and Fortran-ordered arrays, a 2.0 header; each with a few data bytes
plan/         fixed-seed random bytes: fuzz_plan reads its input as numbers, so any bytes are a view
"""
import argparse
import io
import os
import random
import re
import shutil
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def index_strings(limit=60):
    """String literals of tests/index_test.cpp that read as index expressions, in order of appearance."""
    text = open(os.path.join(ROOT, "tests", "index_test.cpp"), encoding="utf-8").read()
    escapes = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", '"': '"', "'": "'", "f": "\f"}
    found = []
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        raw = m.group(1)
        s = re.sub(r"\\x([0-9a-fA-F]{2})|\\(.)", lambda e: chr(int(e.group(1), 16)) if e.group(1) else
                   escapes.get(e.group(2), e.group(2)), raw)
        # Index-like: brackets, colons, commas, dots, signs, digits, names, spaces; not a message.
        if len(s) > 80 or not re.fullmatch(r"[\[\]():,.+\-0-9a-zA-Z_ \t\n\r\f\"\x01]*", s):
            continue
        if re.search(r"[a-z]{3,}", s) and not re.fullmatch(r"[^a-z]*(?:(?:None|Ellipsis|True|Nonex|x|a)[^a-z]*)*", s):
            continue
        if s not in found and s != '"' and " vs " not in s:
            found.append(s)
    # Spread over the file: parser cases, int64 extremes, errors, slices, new axes, ellipses.
    return [found[i * len(found) // limit] for i in range(min(limit, len(found)))]


def npy_headers():
    import numpy as np

    def header(a, version=None):
        f = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Stored array in format 3.0": intended
            if version is None:
                np.lib.format.write_array(f, a, allow_pickle=False)
            else:
                np.lib.format.write_array(f, a, version=version, allow_pickle=False)
        b = f.getvalue()
        # The header and at most 8 bytes of data: the parser reads the header only.
        hlen = int.from_bytes(b[8:10], "little") + 10 if b[6] == 1 else int.from_bytes(b[8:12], "little") + 12
        return b[: hlen + 8]

    def arr(dtype, shape=(2, 3)):
        return np.zeros(shape, dtype=dtype)

    cases = [
        ("bool", arr("?")),
        ("i1", arr("i1")), ("i2_be", arr(">i2")), ("i4", arr("<i4")), ("i8_be", arr(">i8")),
        ("u1", arr("u1")), ("u2", arr("<u2")), ("u4_be", arr(">u4")), ("u8", arr("<u8")),
        ("f2", arr("<f2")), ("f4", arr("<f4")), ("f8_be", arr(">f8")), ("longdouble", arr(np.longdouble)),
        ("c8", arr("<c8")), ("c16_be", arr(">c16")), ("clongdouble", arr(np.clongdouble)),
        ("bytes", arr("S5")), ("void0", arr("V0")), ("str", arr("<U3")), ("str_be", arr(">U1")),
        ("void", arr("V7")), ("datetime_ns", arr("<M8[ns]")), ("timedelta_25s", arr(">m8[25s]")),
        ("datetime_generic", arr("<M8")),
        ("record", arr([("x", "<f4"), ("y", "|u1", (2,)), ("z", [("a", ">i2"), ("b", "<c8", (2, 2))])])),
        ("record_titles", arr(np.dtype({"names": ["a", "b"], "formats": ["<i4", "<f8"], "titles": ["first", None],
                                        "offsets": [0, 8], "itemsize": 20}))),
        ("record_utf8", arr([("\u03b1", "<f4"), ("it's", "|u1")])),
        ("scalar", np.zeros((), dtype="<f8")),
        ("empty", np.zeros((0, 5), dtype="<i4")),
        ("fortran", np.asfortranarray(np.zeros((3, 4), dtype="<f4"))),
        ("deep", np.zeros((1,) * 40, dtype="u1")),
    ]
    out = [(name + ".npy", header(a)) for name, a in cases]
    out.append(("version2.npy", header(arr("<f4"), version=(2, 0))))
    return out


def plan_inputs(count=20, seed=20261128):
    g = random.Random(seed)
    return [("plan-%02d" % i, bytes(g.randrange(256) for _ in range(g.randrange(16, 400)))) for i in range(count)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    sets = {
        "index": [("index-%02d" % i, s.encode("latin-1")) for i, s in enumerate(index_strings())],
        "npy_header": npy_headers(),
        "plan": plan_inputs(),
    }
    for name, files in sets.items():
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for fname, data in files:
            with open(os.path.join(d, fname), "wb") as f:
                f.write(data)
        print("%s: %d files, %d bytes" % (d, len(files), sum(len(b) for _, b in files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
