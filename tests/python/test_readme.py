# tests/python/test_readme.py — every ```python block of README.md runs: host blocks everywhere,
# blocks that use CUDA only where PyTorch has a device.
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.S | re.M)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path, monkeypatch):
    if "cuda" in code:
        torch = pytest.importorskip("torch")
        import stridecopy as sc

        if not (torch.cuda.is_available() and sc.cuda_available()):
            pytest.skip("a CUDA block: needs PyTorch with a device")
    monkeypatch.chdir(tmp_path)  # blocks may write files
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
