"""Renderers: a :class:`~reporter.render.document.Document` as text, Markdown or HTML, and
the views as JUnit XML."""
