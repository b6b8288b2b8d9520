"""Reporting: metrics, intervals, plots and each notebook's analyses."""
