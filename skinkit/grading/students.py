"""The students of a class as it arrives: a folder of student folders or zips, or a platform's zip.

Naming rule: a student's name is the text of the file or folder name before its first `_<number>_`
group, and that number is the student's id, as Canvas (`smithjane_12345_67890_runs.zip`, with
`_LATE` after late ones) and Moodle (`Jane Smith_12345_assignsubmission_file_`) name
submissions; a name without such a group is used whole (without `.zip`). Entries with the same
id (several files of one submission) are one student. A roster CSV maps ids to names.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..confusion import ERROR_TEXT_LIMIT, MATRIX_FILENAME, read_file_bytes
from ..errors import one_line
from .archives import (
    all_members,
    archive_readers,
    check_member,
    needed_member_reader,
    nested_readers,
    unsafe_path,
    zip_file_readers,
)
from .errors import GradingInputError
from .folders import folder_readers
from .stages import READ_NAMES, SubmittedFiles, hidden

PLATFORM_NAME = re.compile(r"^(?P<name>.+?)(?:_late)?_(?P<id>\d+)_(?P<rest>.*)$", re.IGNORECASE)
UPLOAD_PREFIX = re.compile(r"^(?:\d+_)?(?:assignsubmission_file_)?")  # before the uploaded file's own name
ROSTER_ID_COLUMNS = ("id", "student id", "student_id", "identifier")
ROSTER_NAME_COLUMNS = ("name", "student", "full name", "student name")


@dataclass
class Student:
    """One student of a class: the name shown, the id ("" when unknown) and what they handed in."""

    name: str
    student_id: str
    location: str                                # the class folder or archive
    entries: list = field(default_factory=list)  # (entry name, opener(limits, stack) -> readers)

    def open(self, limits, stack):
        """Everything the student handed in, as one SubmittedFiles (ArchiveRefused when refused)."""
        if len(self.entries) == 1:
            entry, opener = self.entries[0]
            return SubmittedFiles(f"{self.location}/{entry}", strip_zip(entry), opener(limits, stack))
        readers = {}
        for entry, opener in self.entries:
            readers.update({f"{entry}/{path}": reader for path, reader in opener(limits, stack).items()})
        return SubmittedFiles(self.location, "", readers)


def strip_zip(name):
    """A file name without its .zip ending."""
    return name[:-4] if name.lower().endswith(".zip") else name


def name_and_id(entry):
    """(student name, id) from a file or folder name by the naming rule; id "" when it has none."""
    match = PLATFORM_NAME.match(strip_zip(entry))
    return (match["name"].strip(), match["id"]) if match else (strip_zip(entry), "")


def uploaded_name(entry):
    """The name a student gave an uploaded file, without the platform's prefix."""
    match = PLATFORM_NAME.match(entry)
    return UPLOAD_PREFIX.sub("", match["rest"]) if match else entry


def group_students(entries, location, roster=None):
    """Students from (entry name, opener) pairs, entries with one id together, sorted by name."""
    students = {}
    for entry, opener in entries:
        name, student_id = name_and_id(entry)
        key = student_id or name
        if key not in students:
            students[key] = Student((roster or {}).get(student_id, name), student_id, location)
        students[key].entries.append((entry, opener))
    for student_id, name in (roster or {}).items():  # on the roster, nothing handed in
        students.setdefault(student_id, Student(name, student_id, location))
    return sorted(students.values(), key=lambda student: (student.name.lower(), student.student_id))


def folder_entries(folder):
    """(name, opener) of each student entry in a class folder: subfolders, zips, platform-named files."""
    entries = []
    for path in sorted(Path(folder).iterdir()):
        if hidden(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            entries.append((path.name, lambda limits, stack, path=path: folder_readers(path, limits, stack)))
        elif path.name.lower().endswith(".zip") or PLATFORM_NAME.match(path.name):
            shown = f"{Path(folder).name}/{path.name}"
            entries.append((path.name, lambda limits, stack, path=path, shown=shown:
                            upload_readers(path, shown, limits, stack)))
    return entries


def upload_readers(path, shown, limits, stack):
    """The readers of one uploaded file in a class folder: a zip's files, or the file itself if needed."""
    if path.is_symlink():
        raise GradingInputError(f"{shown}: a symbolic link, not a regular file (refused)")
    if path.name.lower().endswith(".zip"):
        return zip_file_readers(path, shown, limits, stack)
    name = uploaded_name(path.name)
    return {name: lambda: read_file_bytes(path)} if name in READ_NAMES else {}


def archive_entries(archive, location, stages=()):
    """(name, opener) of each student entry in a class archive: its top-level folders and files.

    A single top-level folder that is no student's (no id in its name, no stage folder in it),
    as when a class folder was zipped whole, is looked into.
    """
    groups = top_level_groups(all_members(archive), location)
    if len(groups) == 1:
        (top, members), = groups.items()
        if is_wrapper(top, members, stages):
            location = f"{location}/{top}"
            groups = top_level_groups([(rest, info) for rest, info in members if rest], location)
    return [(top, entry_opener(archive, members, f"{location}/{top}"))
            for top, members in sorted(groups.items()) if not hidden(top)]


def top_level_groups(members, location):
    """{first path component: [(rest of the path, info)]}; GradingInputError for an unsafe top."""
    groups = {}
    for path, info in members:
        top, _, rest = path.partition("/")
        if not top or unsafe_path(top):
            raise GradingInputError(f"{location}: unsafe path {info.filename[:100]!r} at the top of the class "
                                    "archive; not an export from a learning platform")
        groups.setdefault(top, []).append((rest, info))
    return groups


def is_wrapper(top, members, stages):
    """True for a top-level folder that only wraps the students' entries."""
    inside = {rest.partition("/")[0] for rest, _ in members}
    is_folder = all(rest or info.is_dir() for rest, info in members)
    return is_folder and not PLATFORM_NAME.match(top) and not inside & set(stages)


def entry_opener(archive, members, shown):
    """The opener of one top-level entry of a class archive: a folder, or an uploaded file."""
    if all(rest or info.is_dir() for rest, info in members):
        inside = [(rest, info) for rest, info in members if rest]
        return lambda limits, stack: archive_readers(archive, inside, shown, 1, limits)
    return lambda limits, stack: uploaded_member_readers(archive, members[0][1], shown, limits)


def uploaded_member_readers(archive, info, shown, limits):
    """The readers of one uploaded file in a class archive: a zip's files, or the file itself if needed."""
    check_member(info, shown)
    limits.count(info, shown)
    if info.filename.lower().endswith(".zip"):
        return nested_readers(archive, info, shown, 2, limits)
    name = uploaded_name(info.filename)
    return {name: needed_member_reader(archive, info, shown)} if name in READ_NAMES else {}


def is_class_folder(path):
    """True for a folder with student entries (subfolders, zips) and no confusion_matrix.csv of its own."""
    path = Path(path)
    return path.is_dir() and not (path / MATRIX_FILENAME).exists() and bool(folder_entries(path))


def read_roster(path):
    """{student id: name} from a roster CSV with an id and a name column (see ROSTER_*_COLUMNS)."""
    try:
        roster = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:  # pandas' parser and decoding errors are ValueErrors
        raise GradingInputError(f"{path}: not a readable roster CSV ({one_line(exc, ERROR_TEXT_LIMIT)})") from None
    columns = {column.strip().lower(): column for column in roster.columns}
    id_column = next((columns[c] for c in ROSTER_ID_COLUMNS if c in columns), None)
    name_column = next((columns[c] for c in ROSTER_NAME_COLUMNS if c in columns), None)
    if id_column is None or name_column is None:
        raise GradingInputError(f"{path}: a roster needs an id column ({', '.join(ROSTER_ID_COLUMNS)}) and a "
                                f"name column ({', '.join(ROSTER_NAME_COLUMNS)})")
    ids = roster[id_column].str.replace(r"\D", "", regex=True)  # "Participant 12345" -> "12345"
    return {student_id: name.strip() for student_id, name in zip(ids, roster[name_column]) if student_id}
