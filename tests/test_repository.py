"""The repository stands alone: nothing in it points at files outside it."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"shared/(notes|data|hooks)/|shared/(DOMAIN|STYLE)\.md")


def tracked_text_files():
    names = subprocess.run([shutil.which("git"), "ls-files"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in names:
        path = ROOT / name
        if path.suffix in {".py", ".md", ".html", ".toml", ".cfg", ".txt", ".mako", ".ini",
                           ".sh", ".conf", ".js", ".css"} or name in {"Makefile", ".ci/run"}:
            yield name, path


def test_code_and_docs_cite_nothing_outside_the_repository():
    cited = [name for name, path in tracked_text_files()
             if path.exists() and OUTSIDE.search(path.read_text(encoding="utf-8"))]
    assert cited == []


def test_docs_hold_the_facts_the_code_points_to():
    pointed = set()
    for _name, path in tracked_text_files():
        if path.exists() and path.suffix == ".py":
            pointed |= set(re.findall(r"docs/[\w-]+\.md", path.read_text(encoding="utf-8")))
    missing = sorted(doc for doc in pointed if not (ROOT / doc).is_file())
    assert missing == []
