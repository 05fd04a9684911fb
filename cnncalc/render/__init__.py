"""All text: tables, JSON, CSV, markdown, explanations and number formatting."""
