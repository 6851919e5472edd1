"""The HTML version of the figure index: ``figures/index.html``, the same content as ``figures/README.md``.

The index is written as Markdown (:mod:`wsnmec.study.report`); :func:`markdown_to_html` turns the small
subset it uses into one self-contained HTML page that opens offline: headings, paragraphs, images (the
PNG files next to it, referenced by relative path), bullet lists, pipe tables, inline code and links. No
script, no external style sheet or font.
"""

from __future__ import annotations

import html
import re

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; max-width: 72rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
code { background: #f3f3f3; padding: 0 0.2em; border-radius: 3px; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2.5rem; }
"""

#: ``[text](href)``; the text may hold backslash-escaped characters (``\\[``, ``\\]``: :func:`_unescape`).
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)")
_CODE = re.compile(r"`([^`]*)`")
_IMAGE = re.compile(r"^!\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)(.*)$")
_ESCAPED = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    """Markdown backslash escapes removed (``\\[`` -> ``[``)."""
    return _ESCAPED.sub(r"\1", text)


def inline(text: str) -> str:
    """Escape ``text`` and turn ```code``` and ``[text](href)`` into HTML."""
    parts = []
    position = 0
    for match in _CODE.finditer(text):
        parts.append(_links(text[position:match.start()]))
        parts.append(f"<code>{html.escape(match.group(1))}</code>")
        position = match.end()
    parts.append(_links(text[position:]))
    return "".join(parts)


def _links(text: str) -> str:
    out, position = [], 0
    for match in _LINK.finditer(text):
        out.append(html.escape(text[position:match.start()]))
        out.append(f'<a href="{html.escape(match.group(2), quote=True)}">{html.escape(_unescape(match.group(1)))}</a>')
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_to_html(text: str, title: str) -> str:
    """One HTML page of the Markdown ``text`` (the subset the figure index uses)."""
    body: list[str] = []
    lines = text.splitlines()
    paragraph: list[str] = []
    i = 0

    def flush():
        if paragraph:
            body.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            flush()
            i += 1
            continue
        heading = re.match(r"^(#{1,6}) (.*)$", line)
        image = _IMAGE.match(line.strip())
        if heading:
            flush()
            level = len(heading.group(1))
            body.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            i += 1
        elif image:
            flush()
            alt, src, rest = image.groups()
            body.append(f'<p><img src="{html.escape(src, quote=True)}" alt="{html.escape(_unescape(alt), quote=True)}">'
                        + (f" {inline(rest.strip())}" if rest.strip() else "") + "</p>")
            i += 1
        elif line.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{inline(lines[i][2:].strip())}</li>")
                i += 1
            body.append("<ul>\n" + "\n".join(items) + "\n</ul>")
        elif line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip()):
            flush()
            header = _cells(line)
            i += 2
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            head = "".join(f"<th>{inline(c)}</th>" for c in header)
            rows_html = "\n".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in rows)
            body.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows_html}\n</tbody>\n</table>")
        else:
            paragraph.append(line.strip())
            i += 1
    flush()
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
