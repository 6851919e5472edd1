"""`wsnmec figures` writes figures/index.html: the README's content with the figures inline and the tables
as HTML, openable offline. Loaded in headless Chromium: every image loads and no console message appears."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.study.html import inline, markdown_to_html

from test_figures import STUDY

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: A page that loads the report in a frame and, once everything has loaded, lists each image's state.
HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="report" src="index.html" width="1200" height="800"></iframe>
<script>
window.addEventListener("load", function () {
  var doc = document.getElementById("report").contentDocument;
  var out = [];
  if (!doc) { out.push("NO-ACCESS"); } else {
    out.push("TITLE " + doc.title);
    for (var i = 0; i < doc.images.length; i++) {
      var img = doc.images[i];
      out.push("IMG " + img.getAttribute("src") + " " + (img.complete && img.naturalWidth > 0 ? "ok" : "broken"));
    }
    out.push("TABLES " + doc.getElementsByTagName("table").length);
  }
  var pre = document.createElement("pre"); pre.id = "result"; pre.textContent = out.join("\\n");
  document.body.appendChild(pre);
});
</script></body></html>
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    (root / "studies").mkdir()
    (root / "studies" / "figtest.toml").write_text(STUDY, encoding="utf-8")
    result = CliRunner().invoke(cli.main, [
        "figures", "--quick", "--studies", str(root / "studies"), "--out", str(root / "figs"),
        "--results", str(root / "results"), "--jobs", "1",
    ])
    assert result.exit_code == 0, result.output
    return root / "figs"


def test_index_html_has_the_readme_content(report):
    page = (report / "index.html").read_text(encoding="utf-8")
    readme = (report / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[(?:\\.|[^\]\\])*\]\(([^)]+)\)", readme)  # (alt text with escaped brackets too)
    assert images and re.findall(r'<img src="([^"]+)"', page) == images
    assert page.count("<table>") == len(re.findall(r"^\|---", readme, flags=re.M)) == 1  # lifetime table
    for heading in re.findall(r"^#+ (.*)$", readme, flags=re.M):
        assert f">{inline(heading)}</h" in page
    assert "<script" not in page and "http" not in page  # offline: nothing fetched


def test_markdown_subset_to_html():
    page = markdown_to_html("# T\n\ntext with `a<b` and [x](y.png)\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "t")
    assert "<h1>T</h1>" in page and "<code>a&lt;b</code>" in page and '<a href="y.png">x</a>' in page
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in page
    assert "<th>a</th><th>b</th>" in page and "<td>1</td><td>2</td>" in page


def test_index_html_loads_in_a_headless_browser(report):
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        pytest.skip("no Chromium found (Debian/Ubuntu: apt-get install chromium; .ci/run installs it)")
    harness = report / "harness.html"
    harness.write_text(HARNESS, encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom",
         harness.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, flags=re.S)
    assert result, done.stdout[-2000:]
    lines = result.group(1).splitlines()
    assert lines[0] == "TITLE wsnmec figures"
    images = [line.split() for line in lines if line.startswith("IMG ")]
    readme = (report / "README.md").read_text(encoding="utf-8")
    assert [src for _, src, _ in images] == re.findall(r"!\[(?:\\.|[^\]\\])*\]\(([^)]+)\)", readme)
    assert all(state == "ok" for _, _, state in images), images
    assert lines[-1] == "TABLES 1"
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console


def test_an_image_followed_by_a_link_is_drawn_as_an_image():
    # the partition study's README writes "![name](name.png) ([PDF](name.pdf))" on one line
    page = markdown_to_html("![p-scaling](p.png) ([PDF](p.pdf))\n", "t")
    assert '<img src="p.png" alt="p-scaling">' in page and '<a href="p.pdf">PDF</a>' in page
    assert "!<a" not in page


@pytest.mark.parametrize("title, name", [("FND [rounds] vs p", "study-fnd.png"), ("Alive nodes", "my study-alive.png"),
                                         ("a ] b [ c \\ d", "x (1).png")])
def test_a_title_with_brackets_or_a_file_name_with_spaces_is_drawn_as_an_image(title, name):
    # issue 21 (lesser): the HTML report showed a literal ![...](...) for such figures
    import re

    from wsnmec.study.report import markdown_text, markdown_url

    markdown = f"![{markdown_text(title)}]({markdown_url(name)})\n\n- files: [{markdown_text(name)}]({markdown_url(name)})\n"
    page = markdown_to_html(markdown, "t")
    assert "![" not in page and "](" not in page, page
    image = re.search(r'<img src="([^"]*)" alt="([^"]*)">', page)
    from html import unescape
    from urllib.parse import unquote

    assert image and unquote(unescape(image.group(1))) == name and unescape(image.group(2)) == title
    link = re.search(r'<a href="([^"]*)">([^<]*)</a>', page)
    assert link and unquote(unescape(link.group(1))) == name and unescape(link.group(2)) == name
