#!/usr/bin/env python3
# tests/cli_numpy_oracle.py — `stridecopy slice` checked against NumPy itself: random arrays, random
# basic-index strings, the expected file written by np.save; plus fixed cases (errors, argv, info).
"""Run the stridecopy CLI on random .npy inputs and index expressions and compare with NumPy.

    python3 tests/cli_numpy_oracle.py --cli build/tools/cli/stridecopy --cases 2000 --workdir DIR [--seed N]
                                      [--backend host|cuda|auto] [--no-fixed] [--jobs N]
    python3 tests/cli_numpy_oracle.py --self-test --workdir DIR     # the harness against a Python stand-in

The expected result of INDEX on array `a` is NumPy's own: the index string (brackets optional) is
evaluated by Python as the subscript of `a`, and the output file must be byte-identical to np.save of
np.array(a[index], order="C") — a scalar result included, whose array NumPy makes in native byte order
with trailing NULs of text dropped. Whatever NumPy (or Python's parser) rejects (a result of more than
64 dims among them) must be a clean error: exit status 1, exactly one stderr line
"stridecopy: error: ...", nothing on stdout, no output file (a pre-existing one left untouched), and no
temporary left beside it.

--backend B passes `--backend B` to every `stridecopy slice` call (replacing the backend a random case
drew), except in the few fixed cases that test the option itself ("..., --backend host", "--backend
cuda", "usage: unknown backend"). Under ctest it is `host`: no CUDA work, whatever the machine has. With
`cuda`, every slice goes through the GPU path and must give NumPy's bytes (a machine with a GPU only).
"""

import argparse
import concurrent.futures
import io
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

MAX_RANK = 64  # NumPy's rank limit, and stridecopy's
ERROR_PREFIX = "stridecopy: error:"
TIMEOUT_S = 60  # per CLI run; a CUDA-initialising binary can take a while to start on a GPU machine
DEFAULT_JOBS = max(2, min(8, os.cpu_count() or 2))

# ------------------------------------------------------------------------------------------------
# NumPy's answer


class _Subscript:
    """`_Subscript()[...]` returns the key Python builds for a subscript, slices and all."""

    def __getitem__(self, key):
        return key


_SUBSCRIPT = _Subscript()


def split_brackets(index_text):
    """The subscript inside optional surrounding brackets (and whitespace)."""
    s = index_text.strip()
    if len(s) >= 2 and s[0] == "[" and s[-1] == "]":
        return s[1:-1]
    return s


class Expected:
    """Either `array` (the C-order result) or `error` (why NumPy, Python or the rank limit refuse)."""

    def __init__(self, array=None, error=None, reason=None):
        self.array = array
        self.error = error
        self.reason = reason  # short category of the error, for the coverage summary


def expected_result(a, index_text):
    inner = split_brackets(index_text)
    if inner.strip() == "" and inner != index_text.strip():
        return Expected(error="SyntaxError: a[] (an empty subscript)", reason="syntax")
    if inner.strip() == "":
        key = ()  # no brackets and no items: the CLI's spelling of the whole array
    else:
        try:
            key = eval("_s[" + inner + "]", {"__builtins__": {}}, {"_s": _SUBSCRIPT})  # noqa: S307
        except SyntaxError as e:
            return Expected(error="SyntaxError: %s" % e.msg, reason="syntax")
        except Exception as e:  # a name, an operator on a non-number, ...: not an index
            return Expected(error="%s: %s" % (type(e).__name__, e), reason="syntax")
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, (int, slice))) or isinstance(k, bool):
            return Expected(error="not a basic index item: %r" % (k,), reason="syntax")
    try:
        r = a[key]
    except (IndexError, ValueError, TypeError, OverflowError) as e:
        msg = str(e)
        if "single ellipsis" in msg:
            reason = "two ellipses"
        elif "too many indices" in msg:
            reason = "too many indices"
        elif "step cannot be zero" in msg:
            reason = "step 0"
        elif "out of bounds" in msg:
            reason = "integer out of range"
        elif "slice indices must be" in msg:
            reason = "syntax"
        elif "only integers" in msg or isinstance(e, OverflowError):
            reason = "integer beyond int64"
        elif "dimensions" in msg or "maximum" in msg:
            reason = "rank > 64"
        else:
            reason = type(e).__name__
        return Expected(error="%s: %s" % (type(e).__name__, msg), reason=reason)
    # np.array of a scalar (a full integer index) is NumPy's own: native byte order, text trimmed.
    return Expected(array=np.array(r, order="C"))


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_data_offset(data):
    """Where the array data starts in .npy bytes (None when the header is unreadable)."""
    try:
        f = io.BytesIO(data)
        major, _ = np.lib.format.read_magic(f)
        if major == 1:
            np.lib.format.read_array_header_1_0(f)
        else:
            np.lib.format.read_array_header_2_0(f)
        return f.tell()
    except Exception:
        return None


# ------------------------------------------------------------------------------------------------
# random inputs

# Record types by name (the oracle's dtypes are strings, for its reports). No holes: NumPy copies a
# record with holes field by field, leaving its holes unspecified, while stridecopy copies records as
# opaque bytes (tests/npy_test.cpp checks those field by field).
RECORDS = {
    "rec:pair": [("x", "<f4"), ("y", ">i2")],
    "rec:nested": [("a", [("p", "u1"), ("q", "S2")]), (("title", "b"), ">f8", (2,))],
}


def to_dtype(name):
    return np.dtype(RECORDS[name]) if name in RECORDS else np.dtype(name)


DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
          ">i2", ">i4", ">i8", ">u2", ">u4", ">u8", ">f2", ">f4", ">f8", ">c8", ">c16", "S3", "U2", ">U2", "V3",
          ">M8[ns]", "<m8[s]", "<M8[D]", "S0", "rec:pair", "rec:nested"]
DTYPE_WEIGHTS = np.array([3, 2, 2, 3, 2, 2, 2, 2, 2, 3, 4, 3, 2, 2, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 2, 2, 1, 1,
                          1, 1, 1, 0.5, 1, 1], dtype=float)
DTYPE_WEIGHTS /= DTYPE_WEIGHTS.sum()

# Bit patterns worth carrying through a copy unchanged: quiet and signalling NaNs with payloads,
# negative NaN, -0, inf, the largest finite value.
FLOAT_SPECIALS = {
    2: [0x7E00, 0x7C01, 0xFE01, 0x7DFF, 0x8000, 0x7C00, 0xFC00, 0x7BFF],
    4: [0x7FC00000, 0x7F800001, 0xFFC12345, 0x7FBFFFFF, 0x80000000, 0x7F800000, 0xFF800000, 0x7F7FFFFF],
    8: [0x7FF8000000000000, 0x7FF0000000000001, 0xFFF8DEADBEEF0001, 0x7FF7FFFFFFFFFFFF,
        0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FEFFFFFFFFFFFFF],
}


def random_array(rng, dtype, shape):
    dt = to_dtype(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.itemsize == 0:
        return np.zeros(shape, dt)
    if dt.kind == "b":
        flat = rng.integers(0, 2, n, dtype=np.uint8).view(np.bool_)
    elif dt.kind == "U":
        # valid code points only (NumPy turns elements into str); 0 included, surrogates not
        cp = rng.integers(0, 0x10FFFF - 0x800, n * (dt.itemsize // 4), dtype=np.uint32)
        cp[cp >= 0xD800] += 0x800
        cp[rng.random(cp.size) < 0.2] = 0
        flat = cp.astype(dt.byteorder.replace("=", "<") + "u4").view(dt)
    else:
        flat = np.frombuffer(rng.bytes(n * dt.itemsize), dtype=dt).copy()
        if dt.kind == "S" and n:  # NULs inside and at the end: a scalar's array drops the trailing ones
            raw = flat.view(np.uint8)
            raw[rng.random(raw.size) < 0.3] = 0
        if dt.kind in "fc" and n:
            part = dt.itemsize if dt.kind == "f" else dt.itemsize // 2
            bits = flat.view(np.dtype(dt.byteorder.replace("=", "<").replace("|", "<") + "u%d" % part))
            pick = rng.random(bits.size) < 0.25
            specials = np.array(FLOAT_SPECIALS[part], dtype=bits.dtype)
            bits[pick] = specials[rng.integers(0, len(specials), int(pick.sum()))]
    return flat.reshape(shape)


EXTENTS = [0, 1, 2, 3, 4, 5]
EXTENT_WEIGHTS = [0.04, 0.22, 0.26, 0.2, 0.18, 0.10]
RANK_WEIGHTS = np.array([1, 2, 3, 3, 3, 2, 1.5], dtype=float)
RANK_WEIGHTS /= RANK_WEIGHTS.sum()


def random_input(rng):
    """(array as saved, dtype name, order label)."""
    dtype = DTYPES[rng.choice(len(DTYPES), p=DTYPE_WEIGHTS)]
    rank = int(rng.choice(7, p=RANK_WEIGHTS))
    shape = tuple(int(x) for x in rng.choice(EXTENTS, size=rank, p=EXTENT_WEIGHTS))
    if rng.random() < 0.07:  # deep: up to NumPy's 64 dims, mostly of extent 1, C or F order
        rank = 64 - int(rng.integers(0, 4)) if rng.random() < 0.6 else int(rng.integers(9, 61))
        shape = tuple(int(x) for x in rng.choice([1, 1, 1, 1, 1, 1, 2], size=rank))
        a = random_array(rng, dtype, shape)
        return (a, dtype, "C") if rng.random() < 0.7 else (np.asfortranarray(a), dtype, "F")
    u = rng.random()
    if u < 0.6 or rank == 0:
        return random_array(rng, dtype, shape), dtype, "C"
    if u < 0.8:
        return np.asfortranarray(random_array(rng, dtype, shape)), dtype, "F"
    # non-contiguous: a strided slice or a permutation of a bigger random array
    if rng.random() < 0.5:
        big = random_array(rng, dtype, tuple(2 * e + 1 for e in shape))
        sl = tuple(slice(None, None, 2) if rng.random() < 0.5 else slice(None, None, -2) for _ in shape)
        return big[sl], dtype, "strided"
    perm = rng.permutation(rank)
    base_shape = tuple(shape[int(np.where(perm == i)[0][0])] for i in range(rank))
    return random_array(rng, dtype, base_shape).transpose(perm), dtype, "permuted"


HUGE = ["9223372036854775807", "-9223372036854775808", "99999999999999999999", "-99999999999999999999",
        "9223372036854775808", "-9223372036854775809", "4294967296", "-2147483649", "2147483648"]
MALFORMED = ["1,,2", "[1", "1]", ":::", "1 2", "1.5", "a", "*", "None None", "1:2:3:4", "1e3", "[]]", "[,]",
             ", 1", "[ :, ;]", ". . .", "....", "1:2,:3:,::4:", "[:][:]", "-", "[-]", "1-", "...:"]


def ws(rng):
    u = rng.random()
    if u < 0.72:
        return ""
    if u < 0.92:
        return " "
    return rng.choice(["  ", "\t", " \t "])


def random_integer_text(rng, n):
    u = rng.random()
    if u < 0.75 and n > 0:
        return str(int(rng.integers(-n, n)))
    if u < 0.93:
        return str(int(rng.choice([n, n + 1, -n - 1, -n - 2, 0, -1])))
    return str(rng.choice(HUGE))


def random_bound_text(rng, n):
    u = rng.random()
    if u < 0.38:
        return ""
    if u < 0.92:
        return str(int(rng.integers(-n - 3, n + 4)))
    return str(rng.choice(HUGE))


def random_step_text(rng):
    u = rng.random()
    if u < 0.30:
        return None  # absent
    if u < 0.36:
        return ""  # "a:b:" — present colon, absent step
    if u < 0.44:
        return "1"
    if u < 0.66:
        return "-1"
    if u < 0.86:
        return str(int(rng.choice([2, 3, -2, -3, 4, -4, 5, -5, 7, -7])))
    if u < 0.89:
        return "0"
    if u < 0.93:
        return str(rng.choice(HUGE))
    return str(int(rng.choice([1, -1]) * rng.integers(1, 7)))


def random_slice_text(rng, n):
    start, stop, step = random_bound_text(rng, n), random_bound_text(rng, n), random_step_text(rng)
    c1 = ws(rng) + ":" + ws(rng) if rng.random() < 0.15 else ":"
    text = start + c1 + stop
    if step is not None:
        text += (ws(rng) + ":" + ws(rng) if rng.random() < 0.1 else ":") + step
    return text


def random_index_text(rng, shape):
    """A random basic-index string for an array of `shape`: valid most of the time."""
    if rng.random() < 0.02:
        return str(rng.choice(MALFORMED))
    r = len(shape)
    n_ell = int(rng.choice([0, 1, 2], p=[0.55, 0.42, 0.03]))
    if rng.random() < 0.05:
        k = r + 1 + int(rng.random() < 0.3)  # too many indices
    else:
        k = int(rng.integers(0, r + 1))
    if r >= 56:  # near NumPy's 64 dims: enough new axes to cross it now and then
        n_none = int(rng.choice([0, 2, 4, 6, 9], p=[0.2, 0.1, 0.2, 0.2, 0.3]))
    else:
        n_none = int(rng.choice([0, 1, 2, 3, 5], p=[0.6, 0.2, 0.1, 0.07, 0.03]))
    kinds = ["C"] * k + ["E"] * n_ell + ["N"] * n_none
    rng.shuffle(kinds)
    # which dimension each consuming item lands on (unknown when the index is invalid anyway)
    if n_ell <= 1 and k <= r:
        before = 0
        for kind in kinds:
            if kind == "E":
                break
            before += kind == "C"
        after = k - before
        dims = list(range(before)) + list(range(r - after, r)) if n_ell else list(range(k))
    else:
        dims = [None] * k
    items = []
    ci = 0
    for kind in kinds:
        if kind == "E":
            items.append("...")
        elif kind == "N":
            items.append("None")
        else:
            n = shape[dims[ci]] if dims[ci] is not None else 3
            ci += 1
            items.append(random_integer_text(rng, n) if rng.random() < 0.3 else random_slice_text(rng, n))
    text = ""
    for i, item in enumerate(items):
        if i:
            text += "," + ws(rng)
        text += item + ws(rng)
    if rng.random() < 0.1:
        text += ","
    if rng.random() < 0.6:
        text = "[" + ws(rng) + text + "]"
    if rng.random() < 0.08:
        text = ws(rng) + " " + text + ws(rng)
    return text


# ------------------------------------------------------------------------------------------------
# running and checking one case


class Case:
    """One CLI run and what it must produce.

    kind: "slice"  — `argv` slices in.npy; `expect` (Expected) says the result or that it must fail;
          "usage"  — must fail with exit status 2, one error line, no output file;
          "error"  — must fail with exit status 1 (slice on a malformed input, info on one, ...);
          "help"   — exit 0, text on stdout, nothing on stderr;
          "info"   — exit 0, one line on stdout equal to `info_line`;
          "backend_cuda" — a correct output file, or a clean error (no CUDA path / no device).
    """

    def __init__(self, name, kind, args, input_bytes=None, index_text=None, expect=None, dtype="", shape=None,
                 order="", preexisting_out=None, info_line=None, out_name="out.npy", setup=None, own_backend=False):
        self.name = name
        self.kind = kind
        self.args = args  # CLI arguments; "IN"/"OUT" are replaced by the case's paths
        self.input_bytes = input_bytes
        self.index_text = index_text
        self.expect = expect
        self.dtype = dtype
        self.shape = shape
        self.order = order
        self.preexisting_out = preexisting_out
        self.info_line = info_line
        self.out_name = out_name
        self.setup = setup  # optional callable(case_dir) for unusual file-system states
        self.own_backend = own_backend  # the case tests --backend itself: --backend B leaves it alone


BACKENDS = ("host", "cuda", "auto")


def with_backend(args, backend):
    """`args` with `--backend BACKEND` where they are a `slice` call: the value replaced where the case
    names one, else the option inserted after `slice` (before any `--`). Anything else is unchanged."""
    if backend is None or not args or args[0] != "slice":
        return list(args)
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    for k in range(1, end):
        if args[k] == "--backend":
            if k + 1 < end:
                args[k + 1] = backend
            return args
    args[1:1] = ["--backend", backend]
    return args


def slice_args(rng, index_text, backend=None):
    style = rng.random() if rng is not None else 0.0
    if style < 0.7:
        args = ["slice", "IN", index_text, "-o", "OUT"]
    elif style < 0.8:
        args = ["slice", "-o", "OUT", "IN", index_text]
    elif style < 0.9:
        args = ["slice", "-o", "OUT", "--", "IN", index_text]
    else:
        args = ["slice", "IN", index_text, "--output=OUT"]
    if backend is not None:
        args[1:1] = ["--backend", backend]
    return args


def make_slice_case(name, a, index_text, dtype, order, rng=None, backend=None, preexisting_out=None, args=None):
    data = npy_bytes(a)
    loaded = np.load(io.BytesIO(data))  # what the CLI will see (np.load of the file)
    return Case(name, "slice", args if args is not None else slice_args(rng, index_text, backend),
                input_bytes=data, index_text=index_text, expect=expected_result(loaded, index_text),
                dtype=str(dtype), shape=tuple(a.shape), order=order, preexisting_out=preexisting_out)


def random_case(seed, i):
    rng = np.random.default_rng([seed, i])
    a, dtype, order = random_input(rng)
    index_text = random_index_text(rng, a.shape)
    backend = str(rng.choice(["host", "auto"])) if rng.random() < 0.1 else None
    pre = rng.bytes(int(rng.integers(1, 200))) if rng.random() < 0.15 else None
    return make_slice_case("random %d" % i, a, index_text, dtype, order, rng, backend, pre)


def one_line_error(stderr):
    """None when stderr is exactly one "stridecopy: error: <message>" line, else what is wrong."""
    try:
        text = stderr.decode("utf-8")
    except UnicodeDecodeError:
        return "stderr is not UTF-8: %r" % stderr[:200]
    if not text.endswith("\n") or text.count("\n") != 1 or "\r" in text:
        return "stderr is not exactly one line: %r" % text[:400]
    line = text[:-1]
    if not line.startswith(ERROR_PREFIX + " ") or not line[len(ERROR_PREFIX) + 1:].strip():
        return "stderr line is not %r followed by a message: %r" % (ERROR_PREFIX, line[:400])
    return None


def describe_mismatch(got, want):
    if len(got) != len(want):
        msg = "file is %d bytes, expected %d" % (len(got), len(want))
    else:
        msg = "files differ"
    off_w = npy_data_offset(want)
    off_g = npy_data_offset(got)
    if off_g is None:
        return msg + "; output header unreadable: %r" % got[:128]
    if got[:off_g] != want[:off_w]:
        return msg + "; header %r, expected %r" % (got[:off_g], want[:off_w])
    diff = next((k for k in range(min(len(got), len(want)) - off_w) if got[off_w + k] != want[off_w + k]), None)
    if diff is not None:
        return msg + "; headers equal, first differing data byte %d (0x%02x, expected 0x%02x)" % (
            diff, got[off_w + diff], want[off_w + diff])
    return msg + "; headers equal, data lengths differ"


def case_args(case, backend):
    """The CLI arguments of `case` under the oracle's --backend (None: as the case has them)."""
    return case.args if case.own_backend else with_backend(case.args, backend)


def run_case(cli, case, case_dir, backend=None):
    """Runs one case; returns (outcome, problems). outcome: "ok", "error" (an expected error) or "fail"."""
    os.makedirs(case_dir)
    in_path = os.path.join(case_dir, "in.npy")
    out_path = os.path.join(case_dir, case.out_name)
    expected_files = set()
    if case.input_bytes is not None:
        with open(in_path, "wb") as f:
            f.write(case.input_bytes)
        expected_files.add("in.npy")
    if case.preexisting_out is not None:
        with open(out_path, "wb") as f:
            f.write(case.preexisting_out)
    if case.setup is not None:
        expected_files |= case.setup(case_dir)
    before = set(os.listdir(case_dir))
    args = [{"IN": "in.npy", "OUT": case.out_name}.get(x, x) for x in case_args(case, backend)]
    args = [x.replace("--output=OUT", "--output=" + case.out_name) for x in args]
    try:
        p = subprocess.run(cli + args, cwd=case_dir, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return "fail", ["timed out after %d s" % TIMEOUT_S]
    problems = []
    rc, out, err = p.returncode, p.stdout, p.stderr
    after = set(os.listdir(case_dir))
    exists = os.path.isfile(out_path)
    got = open(out_path, "rb").read() if exists else None

    def clean_failure(want_rc):
        if rc != want_rc:
            problems.append("exit status %d, expected %d%s" % (rc, want_rc, " (killed by a signal)" if rc < 0 else ""))
        if out:
            problems.append("stdout not empty: %r" % out[:300])
        e = one_line_error(err)
        if e:
            problems.append(e)
        if case.preexisting_out is not None:
            if got != case.preexisting_out:
                problems.append("the pre-existing output file was changed or removed")
        elif exists:
            problems.append("an output file was left behind (%d bytes)" % len(got))
        if after != before:
            problems.append("files created or removed: %s" % sorted(after ^ before))

    if case.kind == "slice" or case.kind == "backend_cuda":
        exp = case.expect
        if exp.error is not None and case.kind == "slice":
            clean_failure(1)
            return ("fail" if problems else "error"), problems
        if case.kind == "backend_cuda" and rc != 0:
            clean_failure(1)
            return ("fail" if problems else "error"), problems
        if rc != 0:
            problems.append("exit status %d, expected 0; stderr %r" % (rc, err[:400]))
        elif out or err:
            problems.append("output on a successful run: stdout %r stderr %r" % (out[:200], err[:200]))
        want = npy_bytes(exp.array)
        if got is None:
            problems.append("no output file")
        elif case.preexisting_out is not None and got == case.preexisting_out:
            problems.append("the output file still holds its previous contents")
        else:
            if got != want:
                problems.append(describe_mismatch(got, want))
            try:
                r = np.load(io.BytesIO(got), allow_pickle=False)
                if r.dtype != exp.array.dtype or r.shape != exp.array.shape:
                    problems.append("np.load gives %s %s, expected %s %s" % (
                        r.dtype.str, r.shape, exp.array.dtype.str, exp.array.shape))
                elif np.ascontiguousarray(r).tobytes() != exp.array.tobytes():
                    problems.append("np.load gives different element bytes")
            except Exception as e:
                problems.append("np.load of the output fails: %s" % e)
        extra = after - expected_files - {case.out_name}
        if extra:
            problems.append("files left in the directory: %s" % sorted(extra))
        return ("fail" if problems else "ok"), problems
    if case.kind == "usage":
        clean_failure(2)
        return ("fail" if problems else "error"), problems
    if case.kind == "error":
        clean_failure(1)
        return ("fail" if problems else "error"), problems
    if case.kind in ("help", "info"):
        if rc != 0:
            problems.append("exit status %d, expected 0; stderr %r" % (rc, err[:300]))
        if err:
            problems.append("stderr not empty: %r" % err[:300])
        if case.kind == "help" and not out.strip():
            problems.append("nothing on stdout")
        if case.kind == "info":
            want = (case.info_line + "\n").encode()
            if out != want:
                problems.append("stdout %r, expected %r" % (out[:300], want))
        if after != before:
            problems.append("files created or removed: %s" % sorted(after ^ before))
        return ("fail" if problems else "ok"), problems
    raise AssertionError(case.kind)


# ------------------------------------------------------------------------------------------------
# fixed cases


def info_line_for(data):
    f = io.BytesIO(data)
    major, minor = np.lib.format.read_magic(f)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    return "dtype=%s shape=%r fortran_order=%s version=%d.%d" % (dtype.str, tuple(shape), fortran, major, minor)


def npy_version_bytes(a, version):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=version, allow_pickle=False)
    return buf.getvalue()


def fixed_cases(seed):
    rng = np.random.default_rng([seed, 10**9])
    cases = []

    def add_slice(name, a, index_text, order="C", **kw):
        cases.append(make_slice_case(name, a, index_text, a.dtype.str, order,
                                     args=kw.pop("args", None) or slice_args(None, index_text, kw.pop("backend", None)),
                                     **kw))

    bgr_arr = random_array(rng, "f4", (2, 3, 5, 7))
    add_slice("the BGR example", bgr_arr, "[:, ::-1, :, :]")
    add_slice("the BGR example, --backend host", bgr_arr, "[:, ::-1, :, :]", backend="host")
    add_slice("the BGR example, --backend auto", bgr_arr, "[:, ::-1, :, :]", backend="auto")
    cases[-1].own_backend = cases[-2].own_backend = True
    add_slice("the BGR example, F-ordered file", np.asfortranarray(bgr_arr), "[:, ::-1, :, :]", order="F")
    add_slice("ellipsis only", bgr_arr, "...")
    add_slice("empty brackets", bgr_arr, "[]")
    add_slice("empty string", bgr_arr, "")
    add_slice("x[..., ::-1]", bgr_arr, "[..., ::-1]")
    add_slice("x[::2, 1:-1]", bgr_arr, "::2, 1:-1")
    add_slice("all integers", bgr_arr, "[1, 2, 4, 6]")
    add_slice("all integers, negative", bgr_arr, "-1, -3, -5, -7")

    for dt in ["f8", ">c16", "S3", "U2", ">f2", "?", "V3"]:
        z = random_array(rng, dt, ())
        for idx in ["", "[]", "...", "None", "..., None", "None, ..., None"]:
            add_slice("0-d %s input, %r" % (dt, idx), z, idx)
        for idx in ["0", "::-1", ":", "[..., 0]"]:
            add_slice("0-d %s input, %r (error)" % (dt, idx), z, idx)
    # 0-d results from full integer indexing: NumPy's scalars, whose arrays are native and trimmed
    for dt in [">f8", "S3", "U2", ">i4", "c8"]:
        add_slice("0-d result of %s" % dt, random_array(rng, dt, (3, 4)), "2, -1")

    e = random_array(rng, "i2", (3, 0, 4))
    for idx in ["[::-1, :, 1:]", "[1]", "[..., ::-2]", "[:, 0]", "[None, 5:, ::-1]", "[:, :, 9]"]:
        add_slice("empty-dim input %r" % idx, e, idx)
    e1 = random_array(rng, "f4", (0,))
    for idx in ["5:", "::-1", "0", "-1", "None, :"]:
        add_slice("shape (0,) input %r" % idx, e1, idx)

    v = random_array(rng, "i4", (5,))
    m = random_array(rng, "u2", (4, 6))
    for idx in ["-1", "-1:", "-2::-1", "-9223372036854775808:", "-99999999999999999999", "-1, ..."]:
        add_slice("leading minus %r" % idx, v, idx, args=["slice", "IN", idx, "-o", "OUT"])
        add_slice("leading minus %r, options first" % idx, v, idx, args=["slice", "-o", "OUT", "IN", idx])
        add_slice("leading minus %r, after --" % idx, v, idx, args=["slice", "-o", "OUT", "--", "IN", idx])
        add_slice("leading minus %r on 2-d" % idx, m, idx, args=["slice", "--backend", "host", "IN", idx, "-o", "OUT"])

    # a step so large that the result dim has extent 1: its stride is irrelevant and must not overflow,
    # whatever the itemsize (odd ones are copied in units smaller than the element)
    for dt, shape, idx in [("S3", (3,), "::9223372036854775807"), ("V3", (3, 2), ":, ::-9223372036854775808"),
                           ("f4", (4, 3), "::9223372036854775807, ::-99999999999999999999"),
                           ("U2", (2, 3), "None, 1::4611686018427387904, ::3074457345618258603")]:
        add_slice("huge step, %s %s %r" % (dt, shape, idx), random_array(rng, dt, shape), idx)

    # rank limits (NumPy's 64): results of 64 dims are fine, 65 are not; a file of 65 dims is refused
    r6 = random_array(rng, "i1", (2, 1, 2, 1, 2, 1))
    add_slice("rank 6 + 58 None = 64", r6, "None, " * 29 + "..., " + "None, " * 29)
    add_slice("rank 6 + 59 None = 65 (error)", r6, "None, " * 30 + "..., " + "None, " * 29)
    add_slice("rank 64 input", random_array(rng, "u1", (2,) + (1,) * 61 + (3, 2)), "::-1, ..., ::-1, 0")
    deep = b"{'descr': '|u1', 'fortran_order': False, 'shape': (" + b"1, " * 65 + b"), }"
    deep += b" " * (64 - (len(deep) + 11) % 64) + b"\n"
    cases.append(Case("rank 65 input (error)", "error", ["slice", "IN", "...", "-o", "OUT"],
                      input_bytes=b"\x93NUMPY\x01\x00" + len(deep).to_bytes(2, "little") + deep + b"\x00"))
    # scalar results: NumPy's array of a scalar is native and trims text
    add_slice("0-d result, big-endian float scalar", random_array(rng, ">f8", (3, 4)), "1, -2")
    add_slice("0-d result, big-endian complex scalar", random_array(rng, ">c8", (5,)), "3")
    add_slice("0-d result, big-endian datetime scalar", random_array(rng, ">M8[ns]", (2, 2)), "[1, 0]")
    add_slice("0-d result, text with trailing NULs", np.array([[b"ab\x00", b"\x00\x00\x00"]], dtype="S3"), "0, 0")
    add_slice("0-d result, empty text", np.array([b"\x00\x00\x00", b"a"], dtype="S3"), "0")
    add_slice("0-d result, big-endian unicode", np.array(["ab", ""], dtype=">U3"), "0")
    add_slice("0-d result, record scalar", random_array(rng, "rec:nested", (3,)), "-1")
    add_slice("0-d result, 0-d big-endian input, ()", random_array(rng, ">i4", ()), "()")
    add_slice("0-d view (ellipsis), big-endian kept", random_array(rng, ">f4", (3,)), "1, ...")
    # records, datetimes, zero-size items
    add_slice("record, reversed", random_array(rng, "rec:pair", (4, 5)), "::-1, 1::2")
    add_slice("datetime, transposed", random_array(rng, "<M8[ns]", (3, 4, 2)), "...")
    add_slice("timedelta with a count", random_array(rng, "<m8[25s]", (6,)), "::-2")
    add_slice("zero-size items", random_array(rng, "S0", (3, 4)), "::-1, None")

    # bigger inputs, so that the copy has enough work to be split
    add_slice("NCHW uint8 channel flip", random_array(rng, "u1", (4, 3, 96, 128)), "[:, ::-1, :, :]")
    add_slice("F-ordered float32", np.asfortranarray(random_array(rng, "f4", (64, 33, 129))), "[::-1, 1::2, ::-3]",
              order="F")
    add_slice("complex128 rows", random_array(rng, "c16", (1000, 17)), "[::-7, ::-1]")
    add_slice("big-endian float64 transpose-ish", random_array(rng, ">f8", (50, 3, 40)), "[..., None, 3:-3:2]")

    # inputs in .npy format versions 2.0 and 3.0
    for ver in [(2, 0), (3, 0)]:
        a = random_array(rng, "<f4", (3, 4, 5))
        data = npy_version_bytes(a, ver)
        c = make_slice_case("npy version %d.%d input" % ver, a, "[::-1, 1, ::2]", "<f4", "C",
                            args=["slice", "IN", "[::-1, 1, ::2]", "-o", "OUT"])
        c.input_bytes = data
        cases.append(c)
        cases.append(Case("info, npy version %d.%d" % ver, "info", ["info", "IN"], input_bytes=data,
                          info_line=info_line_for(data)))

    # output file handling
    good = npy_bytes(v)
    pre = b"previous contents\n"
    cases.append(Case("failed run keeps an existing output", "slice", ["slice", "IN", "::0", "-o", "OUT"],
                      input_bytes=good, index_text="::0", expect=expected_result(v, "::0"), preexisting_out=pre))
    cases.append(Case("successful run replaces an existing output", "slice", ["slice", "IN", "::-2", "-o", "OUT"],
                      input_bytes=good, index_text="::-2", expect=expected_result(v, "::-2"), preexisting_out=pre))
    c = Case("input and output the same file", "slice", ["slice", "IN", "::-1", "-o", "IN"], input_bytes=good,
             index_text="::-1", expect=expected_result(v, "::-1"), out_name="in.npy")
    cases.append(c)
    cases.append(Case("same file, bad index leaves it alone", "slice", ["slice", "IN", "7", "-o", "IN"],
                      input_bytes=good, index_text="7", expect=expected_result(v, "7"), out_name="in.npy",
                      preexisting_out=good))
    # IN with a second hard link is written in place (docs/output-files.md): the copy must not read
    # a mapping of the file it is truncating. Rows of 8 KiB reach the sink ungathered; [..., ::-1]
    # goes through the gather. OUT is IN by its own name and by the other link's.
    big = random_array(rng, "f4", (64, 2048))

    def second_link(case_dir):
        os.link(os.path.join(case_dir, "in.npy"), os.path.join(case_dir, "in-link.npy"))
        return {"in-link.npy"}

    for idx in ["::-1", "..., ::-1"]:
        for out_name in ["in.npy", "in-link.npy"]:
            cases.append(Case("same file with two links, written in place, %r, -o %s" % (idx, out_name), "slice",
                              ["slice", "IN", idx, "-o", out_name], input_bytes=npy_bytes(big), index_text=idx,
                              expect=expected_result(big, idx), out_name=out_name, setup=second_link))
    cases.append(Case("output in a missing directory", "error", ["slice", "IN", "::-1", "-o", "nodir/out.npy"],
                      input_bytes=good))

    def make_dir(case_dir):
        os.mkdir(os.path.join(case_dir, "out.npy"))
        return {"out.npy"}

    cases.append(Case("output path is a directory", "error", ["slice", "IN", "::-1", "-o", "OUT"], input_bytes=good,
                      setup=make_dir))
    cases.append(Case("missing input file", "error", ["slice", "IN", "::-1", "-o", "OUT"]))

    def input_dir(case_dir):
        os.mkdir(os.path.join(case_dir, "in.npy"))
        return {"in.npy"}

    cases.append(Case("input is a directory", "error", ["slice", "IN", "::-1", "-o", "OUT"], setup=input_dir))

    # malformed inputs must be clean errors
    hdr_ok = npy_bytes(random_array(rng, "<f8", (3, 4)))
    off = npy_data_offset(hdr_ok)

    def with_header(text):
        body = text.encode("latin1")
        total = 10 + len(body) + 1
        pad = (-total) % 64
        h = body + b" " * pad + b"\n"
        return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h

    malformed = {
        "empty file": b"",
        "bad magic": b"\x93NUMPZ" + hdr_ok[6:],
        "magic only": hdr_ok[:6],
        "truncated header": hdr_ok[: off // 2],
        "truncated data": hdr_ok[:-1],
        "only the header": hdr_ok[:off],
        "text file": b"hello, world\n" * 10,
        "version 4.0": hdr_ok[:6] + b"\x04\x00" + hdr_ok[8:],
        "header length past the end": hdr_ok[:8] + (60000).to_bytes(2, "little") + hdr_ok[10:],
        "dict not a dict": with_header("[1, 2, 3]"),
        "missing shape": with_header("{'descr': '<f8', 'fortran_order': False, }"),
        "extra key": with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1, }") + b"\0" * 16,
        "negative extent": with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }"),
        "overflowing shape": with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
        "object dtype": with_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }") + b"\0" * 16,
        "record dtype with an object field": with_header(
            "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (2,), }") + b"\0" * 24,
        "record data too short": with_header(
            "{'descr': [('a', '<i4'), ('b', 'u1', (3,))], 'fortran_order': False, 'shape': (2,), }") + b"\0" * 13,
        "unknown datetime unit": with_header("{'descr': '<M8[xs]', 'fortran_order': False, 'shape': (2,), }")
        + b"\0" * 16,
        "fortran_order not a bool": with_header("{'descr': '<f8', 'fortran_order': 3, 'shape': (2,), }") + b"\0" * 16,
        "unknown descr": with_header("{'descr': '<q7', 'fortran_order': False, 'shape': (2,), }") + b"\0" * 16,
        "data too short for the shape": with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }")
        + b"\0" * 19,
        # NumPy's dtype refuses both: a record beyond a C int of bytes (2^40 * 2^24 wraps to 4 in 64 bits),
        # and a field name used twice.
        "record larger than a C int": with_header(
            "{'descr': [('a', [('b', '|V1', (1099511627776,))], (16777216,)), ('c', '<f4')], "
            "'fortran_order': False, 'shape': (2,), }") + b"\0" * 8,
        "record with a field name twice": with_header(
            "{'descr': [('a', '<f4'), ('a', '<f4')], 'fortran_order': False, 'shape': (2,), }") + b"\0" * 16,
    }
    for name, data in malformed.items():
        cases.append(Case("malformed input: %s" % name, "error", ["slice", "IN", "...", "-o", "OUT"],
                          input_bytes=data))
    for name in ["bad magic", "record larger than a C int", "record with a field name twice"]:
        cases.append(Case("info on a malformed input: %s" % name, "error", ["info", "IN"], input_bytes=malformed[name]))
    cases.append(Case("info on a missing input", "error", ["info", "IN"]))

    # arguments
    usage = {
        "no arguments": [],
        "slice alone": ["slice"],
        "no index": ["slice", "IN", "-o", "OUT"],
        "no -o": ["slice", "IN", "::-1"],
        "-o without a value": ["slice", "IN", "::-1", "-o"],
        "unknown backend": ["slice", "IN", "::-1", "-o", "OUT", "--backend", "gpu"],
        "unknown subcommand": ["bogus", "IN"],
        "unknown option": ["slice", "IN", "::-1", "-o", "OUT", "--frobnicate"],
        "unknown top-level option": ["--nope"],
        "extra positional": ["slice", "IN", "::-1", "extra", "-o", "OUT"],
        "info without a file": ["info"],
    }
    for name, args in usage.items():
        cases.append(Case("usage: %s" % name, "usage", args, input_bytes=good, own_backend=name == "unknown backend"))
    for name, args in {"--help": ["--help"], "-h": ["-h"], "slice --help": ["slice", "--help"],
                       "--version": ["--version"]}.items():
        cases.append(Case(name, "help", args))

    # --backend cuda: a correct result, or (no device, no CUDA path yet) a clean error
    c = make_slice_case("--backend cuda", bgr_arr, "[:, ::-1, :, :]", "<f4", "C",
                        args=["slice", "--backend", "cuda", "IN", "[:, ::-1, :, :]", "-o", "OUT"])
    c.kind = "backend_cuda"
    c.own_backend = True
    cases.append(c)

    # info
    for a, label in [(bgr_arr, "C"), (np.asfortranarray(bgr_arr), "F"), (random_array(rng, ">U2", ()), "0-d"),
                     (random_array(rng, "?", (7,)), "1-d"), (random_array(rng, "S3", (2, 0)), "empty")]:
        data = npy_bytes(a)
        cases.append(Case("info, %s %s" % (label, a.dtype.str), "info", ["info", "IN"], input_bytes=data,
                          info_line=info_line_for(data)))
    return cases


# ------------------------------------------------------------------------------------------------
# driver


def coverage(cases, outcomes):
    """Counts of the features the random cases exercised, so a degenerate generator shows."""
    c = {}

    def bump(k):
        c[k] = c.get(k, 0) + 1

    for case, outcome in zip(cases, outcomes):
        if case.kind != "slice":
            continue
        e = case.expect
        if e.error is not None:
            bump("error: " + e.reason)
            continue
        bump("success")
        if e.array.ndim == 0:
            bump("0-d result")
        if e.array.size == 0:
            bump("empty result")
        if e.array.ndim >= 7:
            bump("result rank >= 7")
        if e.array.ndim >= 20:
            bump("result rank >= 20")
        if case.order == "F":
            bump("F-ordered input")
        if case.order in ("strided", "permuted"):
            bump("non-contiguous input saved")
        t = case.index_text
        if "::-" in t or re.search(r":\s*-\d", t):
            bump("negative step")
        if "9223372036854775" in t or "99999999999999999999" in t:
            bump("huge bound")
        if "None" in t:
            bump("None")
        if "..." in t:
            bump("ellipsis")
        dt = to_dtype(case.dtype)
        if dt.byteorder == ">":
            bump("big-endian dtype")
        if dt.names:
            bump("record dtype")
        if dt.kind in "Mm":
            bump("datetime dtype")
        if e.array.ndim == 0 and dt.byteorder == ">" and not dt.names:
            bump("big-endian scalar result")
    return c


REQUIRED_COVERAGE = ["success", "0-d result", "empty result", "result rank >= 7", "F-ordered input",
                     "non-contiguous input saved", "negative step", "huge bound", "None", "ellipsis",
                     "big-endian dtype", "error: syntax", "error: two ellipses", "error: too many indices",
                     "error: step 0", "error: integer out of range", "error: integer beyond int64", "error: rank > 64",
                     "record dtype", "datetime dtype", "big-endian scalar result", "result rank >= 20"]


def run_suite(cli, seed, n_cases, workdir, jobs, only=None, with_fixed=True, quiet=False, env_note="",
              fixed_filter=None, backend=None):
    """Returns the number of failures. fixed_filter: a regex that selects fixed cases by name; backend:
    passed to every slice call as --backend (None: each case as written)."""
    t0 = time.time()
    run_dir = os.path.join(workdir, "oracle-run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    cases = []
    if with_fixed and only is None:
        cases += [c for c in fixed_cases(seed) if fixed_filter is None or re.search(fixed_filter, c.name)]
    n_fixed = len(cases)
    ids = [only] if only is not None else range(n_cases)
    cases += [random_case(seed, i) for i in ids]

    def job(k):
        case_dir = os.path.join(run_dir, "case-%05d" % k)
        try:
            outcome, problems = run_case(cli, cases[k], case_dir, backend)
        except Exception as e:  # the harness itself must not hide a case
            outcome, problems = "fail", ["harness exception: %s: %s" % (type(e).__name__, e)]
        if outcome != "fail":
            shutil.rmtree(case_dir, ignore_errors=True)
        return outcome, problems

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(job, range(len(cases))))
    outcomes = [r[0] for r in results]
    failures = [(k, results[k][1]) for k in range(len(cases)) if outcomes[k] == "fail"]
    elapsed = time.time() - t0

    rand = slice(n_fixed, len(cases))
    cov = coverage(cases[rand], outcomes[rand])
    if not quiet:
        print("stridecopy CLI vs NumPy %s: seed %d, %d fixed + %d random cases, --backend %s, %d jobs, %.1f s" % (
            np.__version__, seed, n_fixed, len(cases) - n_fixed, backend or "(as each case has it)", jobs,
            elapsed) + env_note)
        print("  successes %d, expected errors %d, failures %d" % (
            outcomes.count("ok"), outcomes.count("error"), len(failures)))
        print("  random-case coverage: " + ", ".join("%s %d" % kv for kv in sorted(cov.items())))
    missing = [k for k in REQUIRED_COVERAGE if cov.get(k, 0) == 0]
    if missing and only is None and n_cases >= 1000:
        print("  COVERAGE FAILURE: no random case exercised: %s" % ", ".join(missing))
        failures.append((None, ["coverage: " + ", ".join(missing)]))
    if not quiet:
        for k, problems in failures[:20]:
            if k is None:
                continue
            c = cases[k]
            print("FAIL %s [%s]" % (c.name, "case dir " + os.path.join(run_dir, "case-%05d" % k)))
            if c.kind in ("slice", "backend_cuda"):
                print("    input: dtype %s shape %s order %s; index %r" % (c.dtype, c.shape, c.order, c.index_text))
                e = c.expect
                if e.error is not None:
                    print("    expected: error (%s)" % e.error)
                else:
                    print("    expected: %s %s" % (e.array.dtype.str, e.array.shape))
            print("    argv: %r" % (["stridecopy"] + case_args(c, backend),))
            for p in problems:
                print("    got: " + p)
            if c.name.startswith("random "):
                print("    reproduce: --seed %d --only %s%s" % (seed, c.name.split()[1],
                                                             " --backend " + backend if backend else ""))
        if len(failures) > 20:
            print("... and %d more failures" % (len(failures) - 20))
    if not failures:
        shutil.rmtree(run_dir, ignore_errors=True)
    return len(failures)


# ------------------------------------------------------------------------------------------------
# an input cut short while the CLI reads it


def truncated_input_runs(cli, workdir, backend=None, runs=8):
    """Another process truncates IN while `slice` copies it (the CLI maps IN): every run must either
    finish first, with NumPy's bytes, or fail cleanly (exit 1, one line, no OUT); never die of a signal.
    The cuts are spread over the time one uncut run takes, so most of them land inside the copy; when
    one happens to miss it, the run is still checked, so nothing here depends on timing. Returns the
    number of failures."""
    run_dir = os.path.join(workdir, "truncated-input")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    a = random_array(np.random.default_rng(7), "f4", (2048, 4096))  # 32 MiB
    index = "[::-1, ::-1]"
    want = npy_bytes(np.ascontiguousarray(a[::-1, ::-1]))
    pristine = os.path.join(run_dir, "pristine.npy")
    with open(pristine, "wb") as f:
        f.write(npy_bytes(a))
    in_path, out_path = os.path.join(run_dir, "in.npy"), os.path.join(run_dir, "out.npy")
    argv = cli + with_backend(["slice", in_path, index, "-o", out_path], backend)
    failures = []
    uncut = None
    for k in range(runs + 1):
        shutil.copyfile(pristine, in_path)
        if os.path.exists(out_path):
            os.remove(out_path)
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if k > 0:  # run 0 is not cut: it times the copy
            time.sleep(uncut * (k - 1) / runs)
            os.truncate(in_path, 4096)
        out, err = p.communicate(timeout=TIMEOUT_S)
        if k == 0:
            uncut = time.perf_counter() - t0
        what = "run %d (%s)" % (k, "uncut" if k == 0 else "cut after %.1f ms" % (1e3 * uncut * (k - 1) / runs))
        got = open(out_path, "rb").read() if os.path.exists(out_path) else None
        if p.returncode == 0 and got == want and not out and not err:
            continue
        if p.returncode == 1 and k > 0 and got is None and not out and one_line_error(err) is None:
            continue
        failures.append("%s: exit status %d%s, stderr %r, output %s" % (
            what, p.returncode, " (killed by a signal)" if p.returncode < 0 else "", err[:300],
            "absent" if got is None else ("NumPy's bytes" if got == want else "WRONG (%d bytes)" % len(got))))
    print("  input truncated while read: %d runs (an uncut one: %.0f ms), failures %d" % (
        runs + 1, 1e3 * uncut, len(failures)))
    for f in failures:
        print("FAIL input truncated while read: " + f)
    if not failures:
        shutil.rmtree(run_dir, ignore_errors=True)
    return len(failures)


# ------------------------------------------------------------------------------------------------
# self-test: the harness against a Python stand-in for the CLI, correct and with injected faults

STANDIN = r'''
# A Python stand-in for `stridecopy` (same arguments, output and error conventions), for the oracle's
# self-test. STANDIN_FAULT injects one kind of misbehaviour that the oracle must catch.
import os, sys
FAULT = os.environ.get("STANDIN_FAULT", "")
USAGE = "usage: stridecopy {slice IN INDEX -o OUT [--backend auto|host|cuda] | info IN}"

def fail(msg, rc):
    if FAULT == "two_lines":
        sys.stderr.write("stridecopy: error: " + msg + "\nmore\n")
    elif FAULT == "no_prefix":
        sys.stderr.write(msg + "\n")
    else:
        sys.stderr.write("stridecopy: error: " + msg.replace("\n", " ") + "\n")
    if FAULT == "stdout_noise":
        print("oops")
    sys.exit(0 if FAULT == "rc0_on_error" else rc)

argv = sys.argv[1:]
if argv[:1] in (["-h"], ["--help"]):
    print(USAGE); sys.exit(1 if FAULT == "help_rc1" else 0)
if argv[:1] == ["--version"]:
    print("stridecopy 0.1.0 (stand-in)"); sys.exit(0)
if not argv:
    fail("a subcommand is required", 2)
cmd, rest = argv[0], argv[1:]
if cmd not in ("slice", "info"):
    fail("unknown subcommand " + repr(cmd), 2)
pos, opts, only_pos, i = [], {}, False, 0
while i < len(rest):
    t = rest[i]
    if only_pos:
        pos.append(t)
    elif t == "--":
        only_pos = True
    elif t in ("-h", "--help"):
        print(USAGE); sys.exit(0)
    elif cmd == "slice" and t in ("-o", "--output", "--backend"):
        if i + 1 >= len(rest):
            fail(t + " needs a value", 2)
        opts["backend" if t == "--backend" else "out"] = rest[i + 1]
        i += 1
    elif cmd == "slice" and t.startswith("--output="):
        opts["out"] = t[len("--output="):]
    elif t.startswith("-") and len(t) > 1 and not t[1].isdigit():
        fail("unknown option " + t, 2)
    else:
        pos.append(t)
    i += 1
if cmd == "info":
    if len(pos) != 1:
        fail("info takes one file", 2)
elif len(pos) != 2 or "out" not in opts:
    fail("slice takes IN INDEX -o OUT", 2)
if opts.get("backend", "auto") not in ("auto", "host", "cuda"):
    fail("--backend must be auto, host or cuda", 2)

import numpy as np
try:
    f = open(pos[0], "rb")
    major, minor = np.lib.format.read_magic(f)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.subdtype is not None or dtype.kind not in "biufcSUVMm":
        raise ValueError("unsupported dtype %s" % (dtype.descr,))
    if cmd == "info":
        print("dtype=%s shape=%r fortran_order=%s version=%d.%d" % (dtype.str, tuple(shape), fortran, major, minor))
        sys.exit(0)
    a = np.load(pos[0], allow_pickle=False)
except SystemExit:
    raise
except Exception as e:
    fail("%s: %s" % (pos[0], e), 1)
if opts.get("backend") == "cuda":
    fail("--backend cuda: no CUDA device is available", 1)
text = pos[1].strip()
if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
    text = text[1:-1]
    if not text.strip():
        fail("invalid index %r: empty subscript" % pos[1], 1)
class K:
    def __getitem__(self, k): return k
try:
    key = eval("K()[" + text + "]", {"K": K, "__builtins__": {}}) if text.strip() else ()
    if not isinstance(key, tuple):
        key = (key,)
    if any(isinstance(k, (bool, float, list, str)) for k in key):
        raise TypeError("not an index")
    r = a[key]
    if FAULT == "scalar_dtype" and isinstance(r, np.generic):
        r = np.array(r, dtype=a.dtype)   # wrong: a scalar's array in the file's own dtype
    r = np.array(r, order="C")
except Exception as e:
    fail("invalid index %r: %s" % (pos[1], e), 1)
out = opts["out"]
if FAULT == "leave_out_on_error":
    pass
tmp = out + ".tmp-standin"
try:
    with open(tmp, "wb") as f:
        np.save(f, r)
    if FAULT == "flip_byte":
        b = bytearray(open(tmp, "rb").read()); b[-1] ^= 1; open(tmp, "wb").write(bytes(b))
    if FAULT == "leave_tmp":
        open(tmp + "2", "wb").write(b"x")
    os.replace(tmp, out)
except Exception as e:
    try:
        os.remove(tmp)
    except OSError:
        pass
    fail("cannot write %s: %s" % (out, e), 1)
'''

STANDIN_FAULT_WRAP = r'''
import os, sys
if os.environ.get("STANDIN_FAULT") == "leave_out_on_error":
    # on any error exit, leave a half-written output behind
    _exit = sys.exit
    def _leaky_exit(code=0):
        if code:
            args = sys.argv[1:]
            for k, t in enumerate(args):
                if t in ("-o", "--output") and k + 1 < len(args):
                    open(args[k + 1], "wb").write(b"partial")
        _exit(code)
    sys.exit = _leaky_exit
'''


def self_test(workdir, seed, n_cases, jobs):
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "standin_cli.py")
    with open(path, "w") as f:
        f.write(STANDIN_FAULT_WRAP + STANDIN)
    cli = [sys.executable, path]
    ok = True
    print("self-test 1: a correct stand-in must pass everything")
    os.environ.pop("STANDIN_FAULT", None)
    n = run_suite(cli, seed, n_cases, workdir, jobs, env_note=" [python stand-in]")
    if n:
        ok = False
        print("SELF-TEST FAILED: the correct stand-in was reported as failing")
    print("self-test 1b: the fixed cases and 50 random ones with --backend host on every slice call")
    n = run_suite(cli, seed, min(n_cases, 50), workdir, jobs, env_note=" [python stand-in]", backend="host")
    if n:
        ok = False
        print("SELF-TEST FAILED: the correct stand-in was reported as failing under --backend host")
    print("self-test 2: each injected fault must be caught")
    # fault -> the fixed cases that must catch it (random cases catch the rest)
    faults = {"flip_byte": "^the BGR example$", "two_lines": "usage: no -o", "no_prefix": "malformed input: bad magic",
              "rc0_on_error": "missing input", "stdout_noise": "step 0|0-d f8 input, '0'",
              "leave_tmp": "^ellipsis only$", "leave_out_on_error": "keeps an existing output|^malformed",
              "scalar_dtype": "^0-d result", "help_rc1": "^--help$"}
    for fault, fixed in faults.items():
        os.environ["STANDIN_FAULT"] = fault
        n = run_suite(cli, seed + 1, 0, workdir, jobs, quiet=True, fixed_filter=fixed)
        n += run_suite(cli, seed + 1, 30, workdir, jobs, quiet=True, with_fixed=False)
        print("  fault %-20s -> %d failures reported %s" % (fault, n, "(caught)" if n else "NOT CAUGHT"))
        ok = ok and n > 0
    os.environ.pop("STANDIN_FAULT", None)
    print("self-test %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", help="path of the stridecopy binary")
    ap.add_argument("--cases", type=int, default=2000, help="random cases (default 2000)")
    ap.add_argument("--workdir", required=True, help="scratch directory (created; cleaned on success)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: fresh, printed)")
    ap.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                    help="CLI runs in parallel (default %d: the cores, from 2 to 8)" % DEFAULT_JOBS)
    ap.add_argument("--backend", choices=BACKENDS, default=None,
                    help="pass --backend BACKEND to every slice call (default: none, the CLI's own 'auto')")
    ap.add_argument("--only", type=int, default=None, help="run only random case N (with --seed)")
    ap.add_argument("--no-fixed", action="store_true", help="skip the fixed cases")
    ap.add_argument("--self-test", action="store_true",
                    help="check this harness against a Python stand-in CLI, correct and with injected faults")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    os.makedirs(args.workdir, exist_ok=True)
    if args.self_test:
        return self_test(args.workdir, seed, args.cases if args.cases != 2000 else 300, args.jobs)
    if not args.cli:
        ap.error("--cli is required (or --self-test)")
    cli = [os.path.abspath(args.cli)]
    n = run_suite(cli, seed, args.cases, os.path.abspath(args.workdir), args.jobs, only=args.only,
                  with_fixed=not args.no_fixed, backend=args.backend)
    if args.only is None and not args.no_fixed:
        n += truncated_input_runs(cli, os.path.abspath(args.workdir), args.backend)
    print("%s (seed %d)" % ("FAILED" if n else "passed", seed))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
