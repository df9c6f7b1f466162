"""Export an executed notebook to one HTML file that needs no network to view.

Code is escaped into <pre> blocks; outputs are shown as the notebook shows them (tokenprism's HTML
views are self-contained: inline styles, no scripts); images are inlined as data: URLs; markdown
cells go through a small converter of their own (headings, paragraphs, lists, code, emphasis). No
script, font, stylesheet or MathJax is fetched from anywhere, unlike nbconvert's templates.

    python examples/export_html.py examples/lesson.ipynb lesson.html
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["export_html", "markdown_html"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PAGE_STYLE = """<style>
body{max-width:1000px;margin:24px auto;padding:0 16px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f29}
pre{background:#f6f8fa;border:1px solid #e3e6ec;border-radius:6px;padding:8px 10px;overflow-x:auto;font:13px/1.45 ui-monospace,Menlo,Consolas,monospace}
pre.out{background:#fff;border-style:dashed}
pre.err{background:#fef3f2;border-color:#fecdca;color:#b42318}
pre.stderr{background:#fffaeb;border-color:#fedf89}
code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#f2f4f7;padding:0 3px;border-radius:3px}
.cell{margin:14px 0}.output{margin:6px 0 0 0;overflow-x:auto}
</style>"""


def _inline(text: str) -> str:
    """Escaped text with `code`, **bold** and *italic*."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", part)
        out.append(part)
    return "".join(out)


def markdown_html(text: str) -> str:
    """The markdown the lesson uses: # headings, paragraphs, - lists, indented code blocks."""
    blocks = re.split(r"\n\s*\n", text.strip("\n"))
    out = []
    for block in blocks:
        lines = block.split("\n")
        if all(line.startswith("    ") or not line.strip() for line in lines):
            out.append(f"<pre>{html.escape(chr(10).join(line[4:] for line in lines))}</pre>")
        elif lines[0].startswith("#"):
            level = len(lines[0]) - len(lines[0].lstrip("#"))
            out.append(f"<h{level}>{_inline(lines[0][level:].strip())}</h{level}>")
            if len(lines) > 1:
                out.append(f"<p>{_inline(' '.join(lines[1:]))}</p>")
        elif all(line.lstrip().startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{_inline(line.lstrip()[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(out)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_html(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        css = "out stderr" if output.get("name") == "stderr" else "out"
        return f'<pre class="{css}">{html.escape(_text(output.get("text", "")))}</pre>'
    if kind == "error":
        trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
        return f'<pre class="err">{html.escape(trace)}</pre>'
    data = output.get("data", {})
    if "text/html" in data:
        return _text(data["text/html"])
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            return f'<img alt="" src="data:{mime};base64,{_text(data[mime]).strip()}">'
    if "text/plain" in data:
        return f'<pre class="out">{html.escape(_text(data["text/plain"]))}</pre>'
    return ""


def export_html(notebook: dict[str, Any], *, title: str = "notebook") -> str:
    """One self-contained HTML page of a notebook (its JSON, as nbformat writes it)."""
    body = []
    for cell in notebook.get("cells", []):
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            body.append(f'<div class="cell md">{markdown_html(source)}</div>')
        elif cell.get("cell_type") == "code":
            outputs = "".join(f'<div class="output">{_output_html(o)}</div>' for o in cell.get("outputs", []))
            body.append(f'<div class="cell code"><pre>{html.escape(source)}</pre>{outputs}</div>')
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{_PAGE_STYLE}</head>'
            f'<body>{"".join(body)}</body></html>')


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python examples/export_html.py NOTEBOOK.ipynb OUT.html", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    notebook = json.loads(source.read_text(encoding="utf-8"))
    target.write_text(export_html(notebook, title=source.stem), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
