"""The published HTML of the ``mixture`` suite, rendered in headless Chromium at 1400 px.

Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it with apt-get when it is missing)
loads the page from disk with the network off. A small probe script, appended to a copy of the
page, measures the rendered DOM after load and writes its findings into the DOM, which
``--dump-dom`` returns. A screenshot is saved as a test artefact (its path is printed).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; "
                                                         ".ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--window-size=1400,1000"]

# runs after load: every table's scroll width against its box, the page against the viewport, the
# figures, and the visible text; the answer is written into the DOM for --dump-dom
PROBE = """
<script>
window.addEventListener('load', function () {
  var wraps = Array.prototype.slice.call(document.querySelectorAll('.tablewrap'));
  var out = {
    viewport: window.innerWidth,
    page_scroll_width: document.documentElement.scrollWidth,
    tables: wraps.map(function (w) { var t = w.querySelector('table');
      return {scroll: t.scrollWidth, box: w.clientWidth, wrap_scroll: w.scrollWidth}; }),
    images: Array.prototype.slice.call(document.images).map(function (i) {
      return {complete: i.complete, natural_width: i.naturalWidth, shown_width: i.getBoundingClientRect().width}; }),
    backtick: document.body.innerText.indexOf('`') >= 0,
    right_aligned: Array.prototype.slice.call(document.querySelectorAll('td.num')).every(function (td) {
      return getComputedStyle(td).textAlign === 'right'; }),
    cell_lines: Math.max.apply(null, Array.prototype.slice.call(document.querySelectorAll('td')).map(function (td) {
      var cs = getComputedStyle(td);
      return (td.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom)) / parseFloat(cs.lineHeight);
    }))
  };
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _chromium(tmp_path, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"  # a fresh profile per call
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def page(mixture_quick):
    return mixture_quick[0] / "leaderboard" / "leaderboard.html"


def test_published_page_renders_without_overflow(page, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    run = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["viewport"] == 1400
    assert probe["page_scroll_width"] <= probe["viewport"], probe  # the page never scrolls sideways
    assert len(probe["tables"]) >= 4
    for t in probe["tables"]:
        assert t["scroll"] <= t["box"], probe  # each table fits its box at 1400 px
    assert probe["images"] and all(i["complete"] and i["natural_width"] > 0 for i in probe["images"]), probe
    assert all(i["shown_width"] <= probe["viewport"] for i in probe["images"])
    assert not probe["backtick"] and probe["right_aligned"]
    assert probe["cell_lines"] < 1.6, probe  # no cell wraps onto a second line

    shot = tmp_path / "mixture-leaderboard-1400px.png"
    run = _chromium(tmp_path, "--window-size=1400,3000", f"--screenshot={shot}", page.as_uri())
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG", run.stderr[-2000:]
    print(f"screenshot: {shot}")


def test_page_makes_no_network_request(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "http://" not in text and "https://" not in text
