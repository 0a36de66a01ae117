# tests/python/test_packaging.py — what the installed distribution says about itself: its license and
# classifiers, and type stubs that describe the module actually installed.
import ast
import importlib.metadata
import os

import stridecopy as sc


def test_license_and_classifiers():
    md = importlib.metadata.metadata("stridecopy")
    assert md["License-Expression"] == "Apache-2.0"
    files = importlib.metadata.files("stridecopy")
    license_files = [f for f in files if f.name == "LICENSE"]
    assert license_files and "Apache License" in license_files[0].read_text()[:200]
    classifiers = md.get_all("Classifier")
    assert "Environment :: GPU :: NVIDIA CUDA" in classifiers and "Typing :: Typed" in classifiers


def test_stubs_describe_the_installed_module():
    # Every public method and property of the compiled classes is in _stridecopy.pyi (stubs made from
    # an older installed build would lack the newer ones).
    stub = os.path.join(os.path.dirname(sc.__file__), "_stridecopy.pyi")
    with open(stub) as f:
        tree = ast.parse(f.read())
    declared = {node.name: {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
                for node in tree.body if isinstance(node, ast.ClassDef)}
    for cls in (sc.View, sc.DeviceArray):
        names = {n for n in vars(cls) if not n.startswith("_") or n in ("__len__", "__dlpack__", "__getitem__")}
        assert names <= declared[cls.__name__], names - declared[cls.__name__]


def test_version_is_the_projects():
    # CMakeLists.txt's project(VERSION) is the one place the version is written: the distribution's
    # metadata (pyproject.toml reads it there) and the package's __version__ (configured from it) agree.
    assert sc.__version__ == importlib.metadata.version("stridecopy")
