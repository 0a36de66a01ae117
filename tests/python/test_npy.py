# tests/python/test_npy.py — View.save against np.save byte for byte (every dtype, 0-d, empty,
# random views), stridecopy.load back into NumPy, files and paths as NumPy takes them, and files
# changed under a load.
import io
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import stridecopy as sc
from arrays import DTYPES, npy_bytes, random_array, random_key, random_source, same_array


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_save_is_np_save(tmp_path, rng, dtype):
    a = random_array(rng, (3, 4, 5), dtype)
    for i, (view, expected) in enumerate([
        (sc.view(a)[::-1, :, ::2], a[::-1, :, ::2]),
        (sc.view(a).transpose(2, 0, 1), a.transpose(2, 0, 1)),
        (sc.view(a)[1, 2, 3, ...], a[1, 2, 3, ...]),
        (sc.view(a)[:, 5:], a[:, 5:]),
    ]):
        path = tmp_path / f"v{i}.npy"
        view.save(path)
        assert path.read_bytes() == npy_bytes(expected.copy(order="C")), (dtype, i)


def test_save_random_views(tmp_path, rng):
    path = tmp_path / "r.npy"
    done = 0
    while done < 200:
        a = random_source(rng, DTYPES[done % len(DTYPES)])
        key = random_key(rng, a.shape)
        full = key if any(k is Ellipsis for k in key) else key + (Ellipsis,)
        try:
            want = a[full]
        except (IndexError, ValueError, TypeError):
            continue
        sc.view(a)[key].save(str(path))
        assert path.read_bytes() == npy_bytes(want.copy(order="C")), (a.dtype, a.shape, key)
        done += 1


def test_save_replaces_atomically(tmp_path):
    path = tmp_path / "a.npy"
    path.write_bytes(b"old")
    sc.view(np.arange(5))[::-1].save(path)
    assert path.read_bytes() == npy_bytes(np.arange(5)[::-1].copy())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]  # no temporary left behind


@pytest.mark.parametrize("key", [np.s_[::-1], np.s_[..., ::-1]], ids=["rows", "elements"])
def test_save_over_the_mapped_file_it_views(tmp_path, rng, key):
    # A file with a second link is written in place; the view reads a mapping of it (np.load with
    # mmap_mode="r"), which the truncation would pull away mid-copy. Both names get the view's bytes.
    a = random_array(rng, (64, 2048), np.float32)
    path = tmp_path / "a.npy"
    np.save(path, a)
    (tmp_path / "b.npy").hardlink_to(path)
    mapped = np.load(path, mmap_mode="r")
    sc.view(mapped)[key].save(path)
    del mapped
    want = npy_bytes(a[key].copy(order="C"))
    assert path.read_bytes() == want
    assert (tmp_path / "b.npy").read_bytes() == want


@pytest.mark.parametrize("order", ["C", "F"])
def test_load(tmp_path, rng, order):
    a = np.asarray(random_array(rng, (4, 5, 6), np.float32), order=order)
    path = tmp_path / "a.npy"
    np.save(path, a)
    full = sc.load(path)
    np.testing.assert_array_equal(full, np.load(path))
    assert full.dtype == a.dtype and full.flags.f_contiguous == (order == "F")
    same_array(sc.load(path, index=(slice(None, None, -1), 2)), a[::-1, 2].copy())
    same_array(sc.load(str(path), index="[..., ::-2]"), a[..., ::-2].copy())


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d.name != "bfloat16"], ids=str)
def test_load_dtypes(tmp_path, rng, dtype):
    a = random_array(rng, (3, 4), dtype)
    path = tmp_path / "a.npy"
    np.save(path, a)
    same_array(sc.load(path), a)
    same_array(sc.load(path, index="[::-1]"), a[::-1].copy())


def test_save_then_load_round_trip(tmp_path, rng):
    a = random_array(rng, (2, 3, 96, 128), np.float32)
    path = tmp_path / "bgr.npy"
    sc.view(a)[:, ::-1].save(path)
    same_array(sc.load(path), a[:, ::-1].copy())
    same_array(np.load(path), a[:, ::-1].copy())


def test_records_datetimes_and_deep_arrays_round_trip(tmp_path, rng):
    """Files of records (nested, titled, sub-array fields), datetimes with units and 64 dims: loaded
    whole and through an index (a mapping of the file), and saved back byte for byte as np.save."""
    nested = np.dtype([("x", "<f4"), ("y", [("p", ">i2"), ("q", "S3")]), (("a title", "z"), "<u2", (2, 3))])
    cases = [
        np.frombuffer(rng.bytes(5 * 4 * nested.itemsize), nested).reshape(5, 4),
        rng.integers(0, 2**62, (6, 3)).astype(">M8[ns]"),
        rng.integers(0, 2**40, (7,)).astype("<m8[25s]"),
        random_array(rng, (2,) + (1,) * 61 + (3, 2), np.float32),
    ]
    for i, a in enumerate(cases):
        path = tmp_path / f"a{i}.npy"
        np.save(path, a)
        whole = sc.load(path)
        assert whole.dtype == a.dtype and whole.tobytes() == a.tobytes(), a.dtype
        part = sc.load(path, index="::-1")
        assert part.dtype == a.dtype and part.tobytes() == a[::-1].tobytes(), a.dtype
        out = tmp_path / f"b{i}.npy"
        sc.view(a)[::-1].save(out)
        assert out.read_bytes() == npy_bytes(a[::-1].copy(order="C")), a.dtype


def test_load_of_a_file_truncated_while_it_is_read(tmp_path, rng):
    # sc.load with an index maps the file. Here the index itself cuts the file short once it is
    # mapped (its __index__ runs between the mapping and the copy): the copy would read lost pages,
    # which kills a process with SIGBUS. It is a ValueError instead, as np.load's for a short file.
    a = random_array(rng, (256, 1024), np.float32)
    path = tmp_path / "a.npy"
    np.save(path, a)

    class CutsTheFile:
        def __index__(self):
            os.truncate(path, 4096)
            return 0

    with pytest.raises(ValueError, match="truncated while it was being read"):
        sc.load(path, index=(slice(None, None, -1), slice(CutsTheFile(), None)))
    np.save(path, a)
    with pytest.raises(ValueError, match="truncated while it was being read"):
        sc.load(path, index=(slice(CutsTheFile(), None, 1),))  # the whole array: one contiguous copy
    np.save(path, a)
    same_array(sc.load(path, index="[::-1]"), a[::-1].copy())  # and an uncut one still reads


def test_load_reads_header_and_data_from_one_file(tmp_path, rng):
    # A FIFO hands out one file per open: a second open (re-reading the header) would get another
    # file's, here a record type, and the data would come back with its dtype. The load runs in a
    # child process, so that a loader holding its GIL in open() cannot stop this writer.
    first = random_array(rng, (4, 6), np.float32)
    second = npy_bytes(np.zeros(2, dtype=[("x", "<i2"), ("y", "<f8")]))
    fifo = tmp_path / "fifo.npy"
    os.mkfifo(fifo)
    child = subprocess.Popen([sys.executable, "-c", "import sys, stridecopy as sc\n"
                              "a = sc.load(sys.argv[1])\n"
                              "print(a.dtype.str, a.shape, a.tobytes().hex(), sep='\\n')", str(fifo)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def reading(pid):  # whether `pid` holds the FIFO open for reading
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != str(fifo):
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next(int(line.split()[1], 8) for line in info if line.startswith("flags:"))
                if flags & os.O_ACCMODE == os.O_RDONLY:
                    return True
            except OSError:  # closed meanwhile
                pass
        return False

    opens = 0
    try:
        deadline = time.monotonic() + 30
        with open(fifo, "wb") as f:
            # open() returns as the reader's starts; its descriptor appears a moment later.
            while not reading(child.pid) and time.monotonic() < deadline:
                time.sleep(0.001)
            f.write(npy_bytes(first))
        opens = 1
        while child.poll() is None and time.monotonic() < deadline:
            # Once the first open is closed, a non-blocking writer gets in only beside a reader
            # waiting in a second open().
            if reading(child.pid):
                time.sleep(0.002)
                continue
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.005)
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(second)
            opens = 2
            break
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert opens == 1, (out, err)
    assert out.splitlines() == [first.dtype.str, str(first.shape), first.tobytes().hex()], (out, err)


def test_load_never_pairs_two_files_under_concurrent_replace(tmp_path, rng):
    # The file is replaced atomically over and over while it is loaded: each load is one file or the
    # other, never one's header with the other's data.
    a = random_array(rng, (8, 8), np.float32)
    b = np.frombuffer(rng.bytes(8 * 8 * 4), dtype=[("p", "<i2"), ("q", "<u2")]).reshape(8, 8)
    path, tmp_a, tmp_b = tmp_path / "x.npy", tmp_path / "a.tmp.npy", tmp_path / "b.tmp.npy"
    np.save(path, a)
    stop = threading.Event()

    def replacer():
        k = 0
        while not stop.is_set():
            src = tmp_a if k % 2 else tmp_b
            np.save(src, a if k % 2 else b)
            os.replace(src, path)
            k += 1

    t = threading.Thread(target=replacer)
    t.start()
    try:
        for _ in range(300):
            got = sc.load(path)
            want = a if got.dtype == a.dtype else b
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    finally:
        stop.set()
        t.join()


def test_save_appends_npy_as_np_save_does(tmp_path):
    v = sc.view(np.arange(6))[::-1]
    v.save(tmp_path / "a")
    v.save(str(tmp_path / "b.data"))
    v.save(os.fsencode(str(tmp_path / "c")))
    v.save(tmp_path / "d.npy")
    np.save(tmp_path / "e", np.arange(6)[::-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.data.npy", "c.npy", "d.npy", "e.npy"]
    want = (tmp_path / "e.npy").read_bytes()
    assert all((tmp_path / n).read_bytes() == want for n in ["a.npy", "b.data.npy", "c.npy", "d.npy"])


class PathLike:
    def __init__(self, p):
        self.p = p

    def __fspath__(self):
        return str(self.p)


def test_save_and_load_take_file_objects_and_path_likes(tmp_path, rng):
    a = random_array(rng, (5, 7), np.int32)
    rec = np.frombuffer(rng.bytes(6 * 6), dtype=[("x", "<u2"), ("y", "<i4")])
    for arr in (a, rec):
        v = sc.view(arr)[::-1]
        buf = io.BytesIO(b"prefix")
        buf.seek(6)
        v.save(buf)
        assert buf.getvalue() == b"prefix" + npy_bytes(arr[::-1].copy())
        buf.write(b"after")
        buf.seek(6)
        same_array(sc.load(buf), arr[::-1].copy())
        assert buf.read() == b"after"  # np.load's position: right after the array
        buf.seek(6)
        same_array(sc.load(buf, index="[::2]"), arr[::-1][::2].copy())
    with open(tmp_path / "f.npy", "wb") as f:
        sc.view(a)[:, ::-1].save(f)
    with open(tmp_path / "f.npy", "rb") as f:
        same_array(sc.load(f), a[:, ::-1].copy())
    sc.view(a).T.save(PathLike(tmp_path / "g"))
    same_array(sc.load(PathLike(tmp_path / "g.npy")), a.T.copy())
    short = io.BytesIO(npy_bytes(a)[:-3])
    with pytest.raises(ValueError, match="truncated"):
        sc.load(short)

    class Unseekable(io.RawIOBase):  # a pipe's kind of file: read to the end, then found short
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.data.readinto(b)

    with pytest.raises(ValueError, match="truncated"):
        sc.load(Unseekable(npy_bytes(a)[:-3]))
    same_array(sc.load(Unseekable(npy_bytes(a))), a)
    huge = np.lib.format.header_data_from_array_1_0(a)
    huge["shape"] = (2**40,)
    claims = io.BytesIO()
    np.lib.format.write_array_header_1_0(claims, huge)
    claims.write(b"\0" * 64)
    claims.seek(0)
    with pytest.raises(ValueError, match="expected 4398046511104 bytes of data, the file has 64"):
        sc.load(claims)  # refused before 4 TiB are asked for
    with pytest.raises(TypeError, match="binary mode"):
        sc.load(io.StringIO("text"))
