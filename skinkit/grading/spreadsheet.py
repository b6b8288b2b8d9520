"""CSV files a spreadsheet opens safely: no cell a spreadsheet would take for a formula (OWASP's CSV injection).

A text cell that begins with `=`, `+`, `@`, a tab or a carriage return, or with a `-` that does not
begin a number, gets a leading apostrophe: spreadsheets show it as text. Numbers are left alone.
"""

import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "@", "\t", "\r")
NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def safe_cell(value):
    """The value, with an apostrophe before text that a spreadsheet would read as a formula."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) or (value.startswith("-") and not NUMBER.fullmatch(value)):
        return "'" + value
    return value


def safe_table(table):
    """A copy of a table whose text cells and headers are safe_cell'd."""
    safe = table.map(safe_cell)
    safe.columns = [safe_cell(str(column)) for column in table.columns]
    return safe


def write_csv(table, path):
    """Write a table as UTF-8 CSV with every text cell made safe for spreadsheets."""
    safe_table(pd.DataFrame(table)).to_csv(path, index=False, encoding="utf-8")
