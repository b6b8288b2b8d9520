"""The students of a class as it arrives: a folder of student folders or zips, or a platform's zip.

Naming rule: a student's name is the text of the file or folder name before its first `_<number>_`
group, and that number is the student's id, as Canvas (`smithjane_12345_67890_runs.zip`, with
`_LATE` after late ones) and Moodle (`Jane Smith_12345_assignsubmission_file_`) name
submissions; a name without such a group is used whole (without `.zip`). Entries with the same
id (several files of one submission) are one student, late when one of them is (`_LATE`). A
roster CSV maps ids to names (and to the columns a platform's import wants). A name is data only:
colons, backslashes, quotes or a leading `..` in it refuse at most that one entry.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..confusion import ERROR_TEXT_LIMIT, MATRIX_FILENAME, read_file_bytes
from ..errors import one_line
from .archives import (
    ArchiveRefused,
    archive_readers,
    check_member,
    needed_member_reader,
    nested_readers,
    other_archive,
    refuse_other_archive,
    unsafe_path,
    zip_file_readers,
)
from .errors import GradingInputError
from .folders import folder_readers
from .stages import READ_NAMES, SubmittedFiles, hidden

PLATFORM_NAME = re.compile(r"^(?P<name>.+?)(?P<late>_late)?_(?P<id>\d+)_(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
UPLOAD_PREFIX = re.compile(r"^(?:\d+_)?(?:assignsubmission_file_)?")  # before the uploaded file's own name
ROSTER_ID_COLUMNS = ("id", "student id", "student_id", "identifier")
ROSTER_NAME_COLUMNS = ("name", "student", "full name", "student name")
# Other roster columns a platform's import file carries over: field -> accepted headers.
ROSTER_FIELDS = {"sis_user_id": ("sis user id",), "sis_login_id": ("sis login id",), "section": ("section",),
                 "email": ("email address", "email")}
NOT_ON_ROSTER, NO_SUBMISSION = "not on roster", "no submission"


@dataclass
class Student:
    """One student of a class: the name shown, the id ("" when unknown) and what they handed in."""

    name: str
    student_id: str
    location: str                                # the class folder or archive
    entries: list = field(default_factory=list)  # (entry name, opener(limits, stack) -> readers)
    late: bool = False                           # a platform marked an entry _LATE
    roster: str = ""                             # "", NOT_ON_ROSTER or NO_SUBMISSION (with --roster)
    fields: dict = field(default_factory=dict)   # the roster's columns (name and ROSTER_FIELDS)

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
    """(student name, id, late) from a file or folder name by the naming rule; id "" when it has none."""
    match = PLATFORM_NAME.match(strip_zip(entry))
    if not match:
        return printable(strip_zip(entry)), "", False
    return printable(match["name"]), match["id"], bool(match["late"])


def printable(name):
    """A name as one printable line: undecodable bytes as U+FFFD, control characters and runs of spaces as one space."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split()) or "?"


def uploaded_name(entry):
    """The name a student gave an uploaded file, without the platform's prefix."""
    match = PLATFORM_NAME.match(entry)
    return UPLOAD_PREFIX.sub("", match["rest"]) if match else entry


def group_students(entries, location, roster=None):
    """Students from (entry name, opener) pairs, entries with one id together, sorted by name."""
    students, roster = {}, roster if roster is not None else {}
    for entry, opener in entries:
        name, student_id, late = name_and_id(entry)
        key = student_id or name
        if key not in students:
            fields = roster.get(student_id, {})
            students[key] = Student(fields.get("name", name), student_id, location, fields=fields)
        students[key].entries.append((entry, opener))
        students[key].late |= late
    if roster:
        for student in students.values():
            student.roster = "" if student.student_id in roster else NOT_ON_ROSTER
    for student_id, fields in roster.items():  # on the roster, nothing handed in
        students.setdefault(student_id, Student(fields["name"], student_id, location, roster=NO_SUBMISSION,
                                                fields=fields))
    return sorted(students.values(), key=lambda student: (student.name.lower(), student.student_id))


def folder_entries(folder):
    """(name, opener) of each student entry in a class folder: subfolders, zips, platform-named files."""
    entries = []
    for path in sorted(Path(folder).iterdir()):
        if hidden(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            entries.append((path.name, lambda limits, stack, path=path: folder_readers(path, limits, stack)))
        elif path.name.lower().endswith(".zip") or other_archive(path.name) or PLATFORM_NAME.match(path.name):
            shown = f"{Path(folder).name}/{path.name}"
            entries.append((path.name, lambda limits, stack, path=path, shown=shown:
                            upload_readers(path, shown, limits, stack)))
    return entries


def upload_readers(path, shown, limits, stack):
    """The readers of one uploaded file in a class folder: a zip's files, or the file itself if needed."""
    if path.is_symlink():
        raise GradingInputError(f"{shown}: a symbolic link, not a regular file (refused)")
    if other_archive(path.name):
        refuse_other_archive(shown)
    if path.name.lower().endswith(".zip"):
        return zip_file_readers(path, shown, limits, stack)
    name = uploaded_name(path.name)
    return {name: lambda: read_file_bytes(path)} if name in READ_NAMES else {}


def archive_entries(archive, location, stages=()):
    """(name, opener) of each student entry in a class archive: its top-level folders and files.

    A single top-level folder that is no student's (no id in its name, no stage folder in it),
    as when a class folder was zipped whole, is looked into.
    """
    groups = top_level_groups([(info.filename, info) for info in archive.infolist()])
    if len(groups) == 1:
        (top, members), = groups.items()
        if is_wrapper(top, members, stages):
            location = f"{location}/{top}"
            groups = top_level_groups([(rest, info) for rest, info in members if rest])
    return [(top, entry_opener(archive, top, members, f"{location}/{top}"))
            for top, members in sorted(groups.items()) if unsafe_path(top) or not hidden(top)]


def top_level_groups(members):
    """{first path component: [(rest of the path, info)]}; a path starting with "/" is its own entry."""
    groups = {}
    for path, info in members:
        top, _, rest = path.partition("/")
        top = top or path  # "/etc/x": refused below as that entry, the class goes on
        groups.setdefault(top, []).append((rest.replace("\\", "/"), info))
    return groups


def is_wrapper(top, members, stages):
    """True for a top-level folder that only wraps the students' entries."""
    inside = {rest.partition("/")[0] for rest, _ in members}
    is_folder = all(rest or info.is_dir() for rest, info in members)
    return is_folder and not PLATFORM_NAME.match(top) and not inside & set(stages)


def entry_opener(archive, top, members, shown):
    """The opener of one top-level entry of a class archive: a folder, or an uploaded file."""
    if unsafe_path(top) or top.startswith("/"):
        return lambda limits, stack: refuse_unsafe_entry(top, shown)
    if all(rest or info.is_dir() for rest, info in members):
        inside = [(rest, info) for rest, info in members if rest]
        return lambda limits, stack: archive_readers(archive, inside, shown, 1, limits, stack)
    return lambda limits, stack: uploaded_member_readers(archive, members[0][1], shown, limits, stack)


def refuse_unsafe_entry(top, shown):
    """ArchiveRefused for a top-level entry whose path leaves the class archive (.., absolute, drive)."""
    raise ArchiveRefused(f"{shown}: unsafe path {top[:100]!r} in the class archive (.., absolute or drive "
                         "paths are refused); hand in through the platform")


def uploaded_member_readers(archive, info, shown, limits, stack):
    """The readers of one uploaded file in a class archive: a zip's files, or the file itself if needed."""
    check_member(info, shown)
    limits.count(info, shown)
    if other_archive(info.filename):
        refuse_other_archive(shown)
    if info.filename.lower().endswith(".zip"):
        return nested_readers(archive, info, shown, 2, limits, stack)
    name = uploaded_name(info.filename)
    return {name: needed_member_reader(archive, info, shown)} if name in READ_NAMES else {}


def is_class_folder(path):
    """True for a folder with student entries (subfolders, zips) and no confusion_matrix.csv of its own."""
    path = Path(path)
    return path.is_dir() and not (path / MATRIX_FILENAME).exists() and bool(folder_entries(path))


def read_roster(path):
    """{student id: {"name": ..., other ROSTER_FIELDS found}} from a roster CSV with an id and a name column."""
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
    found = {key: columns[header] for key, headers in ROSTER_FIELDS.items() for header in headers if header in columns}
    records = roster[list(found.values())].rename(columns={v: k for k, v in found.items()}).to_dict("records")
    return {student_id: {"name": name.strip(), **record}
            for student_id, name, record in zip(ids, roster[name_column], records) if student_id}
