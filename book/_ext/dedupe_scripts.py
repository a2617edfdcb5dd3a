"""Sphinx extension: drop repeated inline scripts from each page.

With jupyter-book 1.0.4, Sphinx 7.4 and sphinx-thebe 0.3.1, the inline
configuration scripts of sphinx-thebe and sphinx-togglebutton are added
twice to every page; the second ``const THEBE_JS_URL`` is a JavaScript
SyntaxError in the browser. This keeps the first copy of each script.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # the same inline script is added once with filename None and once with ""
        key = (
            getattr(script, "filename", None) or "",
            getattr(script, "attributes", {}).get("body", ""),
        )
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
