"""Zip archives from students, opened safely: checked member by member, streamed, never extracted.

Every member of a student's archive (and of zips inside it) is checked before anything is read:
no `..`, absolute or drive paths, no symbolic links or other non-regular files, no encryption.
The members, their declared sizes, the size of a zip inside a zip and the zip nesting are
capped (MAX_MEMBERS, MAX_UNCOMPRESSED_BYTES, MAX_NESTED_ZIP_BYTES, MAX_ZIP_DEPTH). Only
config.json and confusion_matrix.csv (at most MAX_FILE_BYTES each) and zips inside zips are ever
decompressed. A zip inside a zip is streamed, chunk by chunk, into a spooled temporary file:
memory up to SPOOL_BYTES, an anonymous temporary file past that, deleted once the student is
graded; nothing is extracted. Any problem refuses the student's whole submission
(ArchiveRefused) and names the member. Backslashes in member paths are folder separators, as
Windows zip tools write them; other characters in names are only data.
"""

import posixpath
import re
import shutil
import stat
import tempfile
import zipfile
import zlib

from ..confusion import ERROR_TEXT_LIMIT, MAX_FILE_BYTES
from ..errors import one_line
from .errors import GradingInputError
from .stages import READ_NAMES, hidden

MAX_ZIP_DEPTH = 3                    # zips within zips, the class archive counting as one
MAX_MEMBERS = 10_000                 # members of one student's archives, nested ones included
MAX_UNCOMPRESSED_BYTES = 1 << 30     # declared sizes of all those members together (1 GiB)
SPOOL_BYTES = 16 << 20              # a nested zip past this size waits in a temporary file, not in memory
MAX_NESTED_RATIO = 100              # a nested zip past SPOOL_BYTES expanding more than 100-fold is a bomb
MAX_NESTED_ZIP_BYTES = 512 << 20    # one zip inside a zip (an upload in the class zip too): it is streamed whole
OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".gz", ".7z", ".rar")
DRIVE_PATH = re.compile(r"^[A-Za-z]:")
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError)


class ArchiveRefused(GradingInputError):
    """A student's archive that is not opened: an unsafe member, or past a cap."""

    title = "Refused archive"


class ArchiveLimits:
    """What one student's archives have used of the caps so far."""

    def __init__(self):
        self.members = 0
        self.uncompressed_bytes = 0

    def count(self, info, shown):
        """Add a member; ArchiveRefused once the member count or the total declared size is past its cap."""
        self.members += 1
        self.uncompressed_bytes += info.file_size
        if self.members > MAX_MEMBERS:
            raise ArchiveRefused(f"{shown}: more than {MAX_MEMBERS} members in the submission")
        if self.uncompressed_bytes > MAX_UNCOMPRESSED_BYTES:
            raise ArchiveRefused(f"{shown}: the submission expands past {MAX_UNCOMPRESSED_BYTES} bytes "
                                 "(a zip bomb, or far more than a runs folder)")


def unsafe_path(name):
    """True for a member path that could leave the folder it is meant for: .., absolute, drive letter."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or bool(DRIVE_PATH.match(name)) or ".." in parts


def other_archive(name):
    """True for a tar, gzip, 7z or rar file name: archives grading does not open."""
    return name.lower().endswith(OTHER_ARCHIVES)


def refuse_other_archive(shown):
    """ArchiveRefused for an upload in an archive format other than zip."""
    raise ArchiveRefused(f"{shown}: only .zip archives are read; hand in a zip of your runs/ folder")


def check_member(info, shown):
    """ArchiveRefused unless the member is a plain file or folder with a safe path, not encrypted."""
    kind = stat.S_IFMT(info.external_attr >> 16)
    if unsafe_path(info.filename):
        raise ArchiveRefused(f"{shown}: unsafe path {info.filename[:100]!r} in the archive "
                             "(.., absolute or drive paths are refused)")
    if kind == stat.S_IFLNK:
        raise ArchiveRefused(f"{shown}: a symbolic link in the archive (refused)")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveRefused(f"{shown}: not a regular file in the archive (refused)")
    if info.flag_bits & 0x1:
        raise ArchiveRefused(f"{shown}: encrypted (password-protected) member; hand in a zip without a password")


def read_member(archive, info, shown, limit):
    """The decompressed bytes of one checked member of at most `limit` bytes, in memory."""
    if info.file_size > limit:
        raise ArchiveRefused(f"{shown}: expands to {info.file_size} bytes, past the cap of {limit}")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except ZIP_ERRORS as exc:
        raise ArchiveRefused(f"{shown}: cannot be read from the archive ({one_line(exc, ERROR_TEXT_LIMIT)})") from None
    if len(data) > limit:  # zipfile stops at the declared size; this guards that promise
        raise ArchiveRefused(f"{shown}: expands past the cap of {limit} bytes")
    return data


def archive_readers(archive, members, location, depth, limits, stack):
    """Readers of config.json and confusion_matrix.csv among `members` ((relative path, info) pairs).

    Zips among them are opened in memory and their files listed under "<name>.zip/".
    """
    readers = {}
    for relative, info in members:
        shown = f"{location}/{relative}"
        check_member(info, shown)
        limits.count(info, shown)
        if info.is_dir() or hidden(relative):
            continue
        if depth == 1 and "/" not in relative and other_archive(relative):  # what a platform's folder holds
            refuse_other_archive(shown)
        if relative.lower().endswith(".zip"):
            nested = nested_readers(archive, info, shown, depth + 1, limits, stack)
            readers.update({f"{relative}/{path}": reader for path, reader in nested.items()})
        elif posixpath.basename(relative) in READ_NAMES:
            if relative in readers:
                raise ArchiveRefused(f"{shown}: in the archive twice")
            readers[relative] = needed_member_reader(archive, info, shown)
    return readers


def needed_member_reader(archive, info, shown):
    """A function that reads a config.json or confusion_matrix.csv member when called (size checked now)."""
    if info.file_size > MAX_FILE_BYTES:
        raise ArchiveRefused(f"{shown}: expands to {info.file_size} bytes, past the cap of {MAX_FILE_BYTES}")
    return lambda: read_member(archive, info, shown, MAX_FILE_BYTES)


def nested_readers(archive, info, shown, depth, limits, stack):
    """The readers of a zip inside an archive, streamed into a spooled file closed with `stack`.

    Its declared size is already counted against the caps.
    """
    if depth > MAX_ZIP_DEPTH:
        raise ArchiveRefused(f"{shown}: zips nested more than {MAX_ZIP_DEPTH} deep (refused)")
    if info.file_size > MAX_NESTED_ZIP_BYTES:
        raise ArchiveRefused(f"{shown}: a zip inside the zip of {info.file_size} bytes, past the cap of "
                             f"{MAX_NESTED_ZIP_BYTES}; hand in the runs/ folder without checkpoints")
    # Zipped zips barely shrink; one that expands 100-fold is padding (Apache POI's zip-bomb rule),
    # refused before a gigabyte is decompressed to find out.
    if info.file_size > SPOOL_BYTES and info.file_size > MAX_NESTED_RATIO * info.compress_size:
        ratio = info.file_size // max(info.compress_size, 1)
        raise ArchiveRefused(f"{shown}: a zip inside the zip that expands {ratio}-fold to {info.file_size} bytes "
                             "(a zip bomb; refused)")
    spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115 (stack closes it)
    try:
        with archive.open(info) as member:  # zipfile stops at the declared size and checks the CRC
            shutil.copyfileobj(member, spool, 1 << 20)
    except ZIP_ERRORS as exc:
        raise ArchiveRefused(f"{shown}: cannot be read from the archive ({one_line(exc, ERROR_TEXT_LIMIT)})") from None
    spool.seek(0)
    nested = stack.enter_context(open_zip(spool, shown))
    return archive_readers(nested, all_members(nested), shown, depth, limits, stack)


def open_zip(source, shown):
    """A zipfile.ZipFile for a path or an in-memory file; ArchiveRefused when it is not a readable zip."""
    try:
        return zipfile.ZipFile(source)
    except ZIP_ERRORS as exc:
        raise ArchiveRefused(f"{shown}: not a readable zip archive ({one_line(exc, ERROR_TEXT_LIMIT)})") from None


def all_members(archive):
    """Every member of a student's archive as (relative path, info) pairs, backslashes read as "/"."""
    return [(info.filename.replace("\\", "/"), info) for info in archive.infolist()]


def zip_file_readers(path, shown, limits, stack, depth=1):
    """The readers of a zip file on disk (a student's upload); the open archive is closed with `stack`."""
    archive = stack.enter_context(open_zip(path, shown))
    return archive_readers(archive, all_members(archive), shown, depth, limits, stack)
