"""The model layer of the reporter: runs read from their events, and what is computed
from them (summaries, comparisons, histories, merges, bisections).

``reporter.present`` turns these into documents and ``reporter.render`` writes documents
as text, Markdown, HTML or JUnit.
"""
