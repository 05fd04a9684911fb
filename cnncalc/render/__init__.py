"""All text: tables, JSON, CSV, markdown, explanations and number formatting.

numbers.py formats every number; report.py holds a report as data (Table, Report, CSV rows);
output.py draws it; shape.py, params.py, cost.py, zoo.py and bottleneck.py (with working.py,
the worked solution) build each command's document and report; cells.py holds what they share.
"""
