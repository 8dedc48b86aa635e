"""The report's "For the paper" section: the model table, its LaTeX and Markdown, each model's
methods paragraph and equations, each with a copy button.

The buttons work offline, from a file opened in a browser: the script is inline, uses the
asynchronous clipboard API where the page may (the table goes as HTML and plain text, so a
paste into Word or Google Docs stays a table) and falls back to selecting the element and
``document.execCommand("copy")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from .table import render, table

CSS = """
#paper .mlm-copy{font:inherit;font-size:.85em;padding:2px 10px;margin:4px 0 10px;
border:1px solid var(--line,#d1d9e0);border-radius:6px;background:var(--bg2,#f6f8fa);
color:inherit;cursor:pointer}
#paper .mlm-copy:hover{border-color:var(--accent,#2f6fb0)}
#paper textarea{width:100%;min-height:9em;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",
Menlo,Consolas,monospace;background:var(--bg2,#f6f8fa);color:inherit;
border:1px solid var(--line,#d1d9e0);border-radius:6px;padding:6px 8px;white-space:pre}
#paper .mlm-methods{max-width:52em}
#paper details{margin:6px 0}
"""

COPY_JS = """
(function () {
  function flash(button, ok) {
    var label = button.getAttribute('data-label') || button.textContent;
    button.setAttribute('data-label', label);
    button.textContent = ok ? 'Copied' : 'Selected: press Ctrl+C';
    setTimeout(function () { button.textContent = label; }, 1600);
  }
  function legacy(el) {
    if (el.select) { el.focus(); el.select(); }
    else {
      var range = document.createRange(); range.selectNodeContents(el);
      var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
    }
    try { return document.execCommand('copy'); } catch (e) { return false; }
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-mlm-copy]');
    if (!button) return;
    var el = document.getElementById(button.getAttribute('data-mlm-copy'));
    if (!el) return;
    var rich = el.tagName !== 'TEXTAREA';
    var text = rich ? el.innerText : el.value;
    var clip = navigator.clipboard;
    var done = function () { flash(button, true); };
    var fail = function () { flash(button, legacy(el)); };
    if (clip && rich && window.ClipboardItem) {
      var item = new ClipboardItem({
        'text/html': new Blob([el.innerHTML], {type: 'text/html'}),
        'text/plain': new Blob([text], {type: 'text/plain'})
      });
      clip.write([item]).then(done, fail);
    } else if (clip && clip.writeText) {
      clip.writeText(text).then(done, fail);
    } else {
      fail();
    }
  });
})();
"""


def _button(target: str, label: str) -> str:
    return (f'<button type="button" class="mlm-copy" data-mlm-copy="{escape(target)}">'
            f"{escape(label)}</button>")


def _source(element_id: str, title: str, text: str, rows: int = 12) -> str:
    return (
        f"<details><summary>{escape(title)}</summary>"
        f'<textarea id="{element_id}" readonly rows="{rows}" spellcheck="false">'
        f"{escape(text)}</textarea>{_button(element_id, 'Copy ' + title)}</details>"
    )


def paper_section(results: Sequence[Any], names: Sequence[str] | None = None) -> str:
    """The section's HTML (``<section id="paper">``), self-contained and offline."""
    names = list(names) if names is not None else [f"Model {k}" for k in
                                                   range(1, len(results) + 1)]
    parts = [
        f'<section id="paper"><style>{CSS}</style><h2>For the paper</h2>',
        "<p>Ready to copy: the table (pasted into Word or Google Docs it stays a table), its "
        "LaTeX (needs <code>\\usepackage{booktabs}</code>) and Markdown, then each model's "
        "methods paragraph and equations. Every number is the one shown in the model's "
        "summary above.</p>",
    ]
    try:
        html = table(*results, format="html", model_names=names)
        latex, markdown = render(html.grid, "latex"), render(html.grid, "markdown")
    except (TypeError, ValueError) as err:
        parts.append(f'<p class="note">No model table: {escape(str(err))}</p>')
    else:
        parts += [
            f'<div id="paper-table">{html}</div>',
            _button("paper-table", "Copy table"),
            _source("paper-latex", "LaTeX", latex),
            _source("paper-markdown", "Markdown", markdown),
        ]
    for k, (name, res) in enumerate(zip(names, results, strict=True), start=1):
        parts.append(f"<h3>{escape(name)}: methods</h3>")
        try:
            text = res.methods_text()
        except (TypeError, ValueError, AttributeError) as err:
            parts.append(f'<p class="note">No methods paragraph: {escape(str(err))}</p>')
            continue
        parts += [
            f'<p class="mlm-methods" id="paper-methods-{k}">{escape(text)}</p>',
            _button(f"paper-methods-{k}", "Copy paragraph"),
            _source(f"paper-equations-{k}", "equations (LaTeX)", res.equations("latex"), 8),
        ]
    parts.append(f"<script>{COPY_JS}</script></section>")
    return "".join(parts)
