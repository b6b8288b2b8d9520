"""Grading: students' confusion matrices compared with an instructor's reference, run by run.

`python -m skinkit grade` (skinkit/grading/cli.py) reads only `confusion_matrix.csv` and
`config.json` from what students hand in (folders, or zips opened without extracting them),
never runs, imports or unpickles anything, and writes verdicts, a gradebook (or Canvas's and
Moodle's import files, skinkit/grading/platforms.py) and feedback files. A student's name or
archive refuses at most that student. docs/grading.md is the instructor's guide.
"""
