"""Runs every python block of docs/guide.md in order, so the guide stays true."""
import os
import re

GUIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                     "guide.md")


def test_guide_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with open(GUIDE, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    namespace = {"__name__": "guide"}
    for k, block in enumerate(blocks):
        exec(compile(block, f"{GUIDE}:block{k}", "exec"), namespace)  # noqa: S102
    assert "Dense" in capsys.readouterr().out
