"""Grading: students' confusion matrices compared with an instructor's reference, run by run.

`python -m skinkit grade` (skinkit/grading/cli.py) reads only `confusion_matrix.csv` and
`config.json` from what students hand in (folders, or zips opened in memory), never runs, imports
or unpickles anything, and writes verdicts, a gradebook and feedback files. docs/grading.md is
the instructor's guide.
"""
