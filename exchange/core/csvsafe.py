"""Cells of the spreadsheet files people download (CSV, XLSX): text that a spreadsheet program would run as a
formula is written with a leading apostrophe, so that it is only shown (CSV or formula injection)."""

#: A cell starting with one of these is read as a formula (tab and carriage return: after they are stripped).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value):
    """`value` as a spreadsheet only shows it: a text starting with FORMULA_START gets a leading "'"; anything else
    (numbers, dates, None) is left as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values) -> list:
    """formula_safe of each value: a row (or a header whose titles people wrote) of the file."""
    return [formula_safe(value) for value in values]
