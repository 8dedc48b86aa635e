"""Reporting for the paper: side-by-side model tables (``table``), a methods paragraph
(``methods_text``) and a report section with both, ready to copy.

- ``columns.py``: one model's numbers (the extension point for GLMM and pooled columns);
- ``build.py``: rows aligned across models, cells and notes -> a format-free ``Grid``;
- ``render_html.py``, ``render_latex.py``, ``render_markdown.py``, ``render_word.py``;
- ``table.py``: the public ``table()``; ``methods.py``: ``methods_text()``;
- ``report_section.py``: the report's "For the paper" section.
"""
