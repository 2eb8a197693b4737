"""Runs every python block of the user guide in order, so the guide stays true.

docs/guide.md is the main guide; each chapter file docs/guide-*.md (linked from it) runs
separately, in a namespace of its own, so a chapter reads on its own.
"""
import glob
import os
import re

import pytest

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
GUIDE = os.path.join(DOCS, "guide.md")
CHAPTERS = sorted(glob.glob(os.path.join(DOCS, "guide-*.md")))


def _run_blocks(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace = {"__name__": "guide"}
    for k, block in enumerate(blocks):
        exec(compile(block, f"{path}:block{k}", "exec"), namespace)  # noqa: S102
    return blocks


def test_guide_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert len(_run_blocks(GUIDE)) >= 6
    assert "Dense" in capsys.readouterr().out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=os.path.basename)
def test_guide_chapter_runs(chapter, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run_blocks(chapter), f"{chapter} has no python example"
    with open(GUIDE, encoding="utf-8") as f:
        assert os.path.basename(chapter) in f.read(), f"docs/guide.md does not link {chapter}"
