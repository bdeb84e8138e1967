"""The self-contained HTML diagnosis report (``ppltopics diagnose DIR --html``): valid HTML,
every image an embedded PNG, nothing fetched from elsewhere, and (when a chromium binary is
installed) it loads in a headless browser with every image decoded."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.cli import main
from ppltopics.report import diagnosis_html, write_diagnosis_html

WORDS = ("river bank water fish shore boat", "bank money loan interest market rate")
PNG = b"\x89PNG\r\n\x1a\n"


@cache
def _post() -> pt.Posterior:
    rng = np.random.default_rng(0)
    c = pt.Corpus.from_tokens([list(rng.choice(WORDS[d % 2].split(), 10)) for d in range(20)])
    return pt.fit("lda", c, num_topics=2, num_chains=2, num_samples=30, warmup=5,
                  progress=False)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag not in ("img", "meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    p.close()
    assert not p.stack, f"unclosed tags {p.stack}"
    return p


def test_report_is_self_contained():
    text = diagnosis_html(_post())
    assert text.startswith("<!DOCTYPE html>")
    p = _parse(text)
    imgs = [v for t, k, v in p.attrs if t == "img" and k == "src"]
    assert len(imgs) == 4  # trace, rank, autocorrelation, ESS evolution
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True)[:8] == PNG
    # no reference outside the page: no src/href but data: URIs, no scripts, no imports
    for t, k, v in p.attrs:
        if k in ("src", "href", "srcset", "action", "poster"):
            assert (v or "").startswith("data:"), (t, k, v)
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert not re.search(r"url\(|@import|https?://", text.split("<body>")[0])
    body = " ".join(p.text)
    for heading in ("Convergence on label-invariant quantities", "Do the chains find the "
                    "same topics?", "Topics", "Topic quality", "NPMI coherence"):
        assert heading in body
    assert p.tags.count("table") >= 4


def test_cli_diagnose_html(tmp_path: Path):
    post_dir = _post().save(tmp_path / "post")
    assert main(["diagnose", str(post_dir), "--html"]) == 0
    report = post_dir / "report.html"
    assert report.is_file() and "<img" in report.read_text()
    other = tmp_path / "out" / "r.html"
    assert main(["diagnose", str(post_dir), "--html", str(other)]) == 0
    assert other.is_file()
    _post().save(post_dir, overwrite=True)  # the report goes with the bundle it describes
    with pytest.raises(ValueError, match="is a folder"):
        write_diagnosis_html(_post(), tmp_path)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary installed")
def test_report_loads_in_headless_chromium(tmp_path: Path):
    """Chromium opens the page from disk and decodes every image: a probe appended to a copy
    of the page counts the images with a natural width once the page has loaded."""
    text = diagnosis_html(_post())
    probe = ("<script>window.addEventListener('load',()=>{const ok=[...document.images]"
             ".filter(i=>i.complete&&i.naturalWidth>0).length;document.body.setAttribute("
             "'data-decoded',ok+'/'+document.images.length)});</script>")
    page = tmp_path / "report.html"
    page.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'data-decoded="(\d+)/(\d+)"', proc.stdout)
    assert m, proc.stdout[:500]
    assert m.group(1) == m.group(2) == "4"
    assert "Do the chains find the same topics?" in proc.stdout
