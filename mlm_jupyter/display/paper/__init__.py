"""Reporting for the paper: side-by-side model tables (``table``), a methods paragraph
(``methods_text``) and a report section with both, ready to copy.

- ``columns.py``: one model's numbers (the extension point for GLMM and pooled columns);
- ``options.py``: the options, checked; ``build.py``: the format-free ``Grid`` (``layout.py``)
  from ``fixed_rows.py``, ``random_rows.py`` and ``notes.py``; ``formatting.py``: APA numbers;
  ``richtext.py``: spans with sub-/superscripts and italics;
- ``render_html.py``, ``render_latex.py``, ``render_markdown.py``, ``render_word.py``;
- ``table.py``: the public ``table()``; ``methods.py``: ``methods_text()``;
- ``report_section.py``: the report's "For the paper" section.
"""
