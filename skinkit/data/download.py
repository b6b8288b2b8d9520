"""Fetch HAM10000 as the ISIC 2018 challenge distributes it, verified and ready for `prepare`.

Every file is fetched with pooch (to a temporary name, moved into place only when complete),
checked, and recorded with its size and sha256 in `download.json`; a recorded file whose bytes
still match is never fetched again. The ISIC data page states each file's size but publishes
no checksums, so no hash is pinned: the recorded sha256 is the one computed on arrival.

The ISIC 2019 training metadata (age, sex, body site of the same images) comes from the
challenge's `2019/` folder and is optional: without it the images are still complete, and
notebook 08 skips its subgroup tables.
"""

import shutil
import sys
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pooch
import requests
from PIL import Image
from tqdm.auto import tqdm

from ..errors import KitError, PrepareError
from ..files import read_json, write_json
from .ham10000 import (
    GROUPING_COLUMNS,
    ISIC_GROUND_TRUTH_CSV,
    ISIC_GROUND_TRUTH_DIR,
    ISIC_GROUPINGS_CSV,
    ISIC_IMAGES_DIR,
    ISIC_METADATA_CSV,
    ISIC_METADATA_NAMES,
    ONE_HOT_COLUMNS,
    check_images_exist,
    read_csv,
    read_metadata,
)

BASE_URL = "https://isic-challenge-data.s3.amazonaws.com/2018/"
DEFAULT_OUT = "data/ham10000"
RECORD = "download.json"
TIMEOUT_S = 15
MANUAL_ROUTE = "or fetch the files by hand as README.md describes (section 'Data')"


class DownloadError(KitError, RuntimeError):
    """A download that cannot complete; the message says what to do."""

    title = "Download failed"


@dataclass(frozen=True)
class RemoteFile:
    """One file of the release: its name, the size the ISIC data page states, what it unpacks to."""

    name: str
    stated_bytes: int
    folder: str = None  # the folder a zip unpacks to (None: not a zip)
    member: str = None  # a file the zip must hold, checked on arrival
    columns: tuple = GROUPING_COLUMNS  # columns a CSV (not a zip) must have, checked on arrival


# Smallest first, so that a wrong mirror fails before the 2.6 GB transfer.
RELEASE = (
    RemoteFile(ISIC_GROUPINGS_CSV, 481_000),
    RemoteFile("ISIC2018_Task3_Training_GroundTruth.zip", 36_000,
               ISIC_GROUND_TRUTH_DIR, ISIC_GROUND_TRUTH_CSV),
    RemoteFile("ISIC2018_Task3_Training_Input.zip", 2_600_000_000, ISIC_IMAGES_DIR),
)
# Optional (about 1 MB), from the 2019 challenge folder beside 2018/, or from the mirror's own folder.
PATIENT_METADATA = RemoteFile(ISIC_METADATA_CSV, 1_000_000, columns=("image", *ISIC_METADATA_NAMES))


def file_url(base_url, name):
    """The address of `name` under `base_url` (with or without a trailing slash)."""
    return f"{base_url.rstrip('/')}/{name}"


def connection_error(url, error, timeout):
    """The DownloadError for a host that cannot be reached or stops answering."""
    reason = f"no answer within {timeout:g} s" if isinstance(error, requests.Timeout) else "no connection"
    return DownloadError(f"cannot reach {url} ({reason}); check the internet connection and rerun, "
                         f"{MANUAL_ROUTE}.")


def http_error(url, status):
    """The DownloadError for an HTTP error status."""
    if status in (403, 404):
        return DownloadError(f"{url}: HTTP {status} ({'forbidden' if status == 403 else 'not found'}): "
                             f"the host has no such file for us; check --mirror, {MANUAL_ROUTE}.")
    return DownloadError(f"{url}: HTTP {status} from the host; try again later, {MANUAL_ROUTE}.")


def remote_size(url, stated_bytes, timeout):
    """The file's size from a HEAD request (stated size if the host gives none); checks it exists."""
    try:
        response = requests.head(url, timeout=timeout, allow_redirects=True)
    except requests.RequestException as error:
        raise connection_error(url, error, timeout) from error
    if response.status_code in (405, 501):  # a host without HEAD support: rely on the stated size
        return stated_bytes
    if response.status_code >= 400:
        raise http_error(url, response.status_code)
    return int(response.headers.get("Content-Length") or stated_bytes)


def is_verified(path, entry):
    """True when `path` exists with the size and sha256 recorded in `entry`."""
    if not entry or not path.is_file() or path.stat().st_size != entry["size"]:
        return False
    return pooch.file_hash(str(path), alg="sha256") == entry["sha256"]


def unpacked_bytes(path):
    """Bytes a local zip takes once unpacked (0 when it is not a readable zip)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        return 0


def check_free_disk(out, needed):
    """Raise a DownloadError when the disk holding `out` has less than `needed` bytes free."""
    free = shutil.disk_usage(out).free
    if free < needed:
        raise DownloadError(f"{out}: needs {needed / 1e9:.2f} GB free to fetch and unpack, the disk has "
                            f"{free / 1e9:.2f} GB; free some space or choose another --out.")


@contextmanager
def quiet_pooch():
    """Silence pooch's own log lines (the command prints its own)."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def fetch(url, path, timeout, progress):
    """Download `url` to `path` with pooch (temporary name, moved into place when complete)."""
    path.unlink(missing_ok=True)  # an unrecorded or mismatching file: fetch it fresh
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    try:
        with quiet_pooch():
            pooch.retrieve(url, known_hash=None, fname=path.name, path=path.parent, downloader=downloader)
    except requests.HTTPError as error:
        raise http_error(url, error.response.status_code) from error
    except requests.RequestException as error:  # the transfer broke off: pooch kept nothing
        raise DownloadError(f"{url}: the transfer broke off ({type(error).__name__}); nothing was kept: "
                            f"rerun the command to fetch it again, {MANUAL_ROUTE}.") from error


def check_zip(path, remote):
    """Raise a DownloadError unless the zip at `path` holds `remote`'s folder (and checked member)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        wanted = remote.member or f"{remote.folder}/"
        if not any(name.startswith(wanted) for name in names):
            raise DownloadError(f"{path}: the zip holds no {wanted}; the host serves another file "
                                f"under this name: check --mirror, {MANUAL_ROUTE}.")
        if remote.member:
            with archive.open(remote.member) as handle:
                read_csv(f"{path.name}:{remote.member}", ONE_HOT_COLUMNS, handle)


def check_arrival(path, remote):
    """Check a fetched file is what it should be (deleting it if not): a zip or CSV of the release."""
    try:
        if remote.folder:
            check_zip(path, remote)
        else:
            read_csv(path, remote.columns)
    except (zipfile.BadZipFile, zlib.error) as error:
        path.unlink()
        message = (f"{path}: not a readable zip archive ({error}); the host sent something else "
                   f"(an error page?), so it was deleted: check --mirror, {MANUAL_ROUTE}.")
        raise DownloadError(message) from error
    except PrepareError as error:
        path.unlink()
        raise DownloadError(f"{error} It came in this form from the host and was deleted: "
                            f"check --mirror, {MANUAL_ROUTE}.") from error
    except DownloadError:
        path.unlink()
        raise


def unpack(archive, out, folder):
    """Unzip `archive` into a hidden staging folder, then move its `folder` into `out` in one rename."""
    staging = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=out))
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = tqdm(zipped.infolist(), desc=f"unpacking {archive.name}", unit="file",
                           leave=False, disable=None)
            for member in members:
                zipped.extract(member, staging)
        shutil.rmtree(out / folder, ignore_errors=True)  # an older unpacking of a replaced zip
        (staging / folder).rename(out / folder)
    except OSError as error:  # a full disk midway
        raise DownloadError(f"{archive}: unpacking failed ({error}); nothing was unpacked: "
                            f"free some space and rerun the command.") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unpack_all(out, fetched, record):
    """Unpack the zips just fetched or not unpacked yet; a damaged zip is deleted and unrecorded."""
    for remote in RELEASE:
        if not remote.folder or (remote not in fetched and (out / remote.folder).is_dir()):
            continue
        try:
            unpack(out / remote.name, out, remote.folder)
        except (zipfile.BadZipFile, zlib.error) as error:  # a CRC error: the bytes arrived damaged
            (out / remote.name).unlink()
            record["files"].pop(remote.name, None)
            write_json(out / RECORD, record)
            raise DownloadError(f"{out / remote.name}: damaged zip ({error}); it was deleted: "
                                f"rerun the command to fetch it again.") from error


def readable(path):
    """True when the image at `path` decodes to the end (draft mode: a fast reduced decode)."""
    try:
        with Image.open(path) as image:
            image.draft("L", (image.width // 8, image.height // 8))
            image.load()
        return True
    except (OSError, ValueError, SyntaxError):
        return False


def check_contents(out):
    """The metadata table of the unpacked release; every listed image is present and readable."""
    try:
        meta = read_metadata(out)
        check_images_exist(meta, out / ISIC_IMAGES_DIR)
    except PrepareError as error:
        raise DownloadError(f"{error} The files came in this form from the host: "
                            f"check --mirror, {MANUAL_ROUTE}.") from error
    paths = tqdm(meta["path"], desc="checking images", unit="image", leave=False, disable=None)
    broken = [path.name for path in paths if not readable(path)]
    if broken:
        raise DownloadError(f"{out / ISIC_IMAGES_DIR}: {len(broken)} image(s) cannot be read: "
                            f"{', '.join(broken[:10])}{', ...' if len(broken) > 10 else ''}; "
                            f"the archive from the host holds them damaged: check --mirror, {MANUAL_ROUTE}.")
    return meta


def recorded_files(out):
    """The files recorded in `out`/download.json ({} when there is none or it cannot be read)."""
    try:
        return read_json(out / RECORD)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def plan(out, base_url, record, timeout):
    """{remote file: size} of the files to fetch (all but the verified ones); checks the host."""
    todo = {}
    for remote in RELEASE:
        if is_verified(out / remote.name, record["files"].get(remote.name)):
            print(f"{remote.name}: already here and verified, not fetched again")
        else:
            todo[remote] = remote_size(file_url(base_url, remote.name), remote.stated_bytes, timeout)
    return todo


def space_needed(out, todo):
    """Bytes the fetching and unpacking still to do will take (an unpacked zip ~ its own size)."""
    needed = sum(todo.values())
    for remote in RELEASE:
        if remote.folder and remote not in todo and not (out / remote.folder).is_dir():
            needed += unpacked_bytes(out / remote.name)
    return needed + sum(size for remote, size in todo.items() if remote.folder)


def metadata_urls(base_url):
    """Where the 2019 metadata may be: the 2019/ folder beside base_url, then base_url itself."""
    in_2019 = urljoin(base_url.rstrip("/") + "/", f"../2019/{ISIC_METADATA_CSV}")
    return list(dict.fromkeys([in_2019, file_url(base_url, ISIC_METADATA_CSV)]))


def readable_size(size):
    """'2,600.0 MB' for big files, '812 KB' for those under a megabyte."""
    return f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} KB"


def fetch_checked(url, path, remote, size, timeout, progress):
    """Fetch one file to `path` and check it (DownloadError if it is not right); returns its record entry."""
    print(f"fetching {url} ({readable_size(size)})", flush=True)
    fetch(url, path, timeout, progress)
    check_arrival(path, remote)
    return {"url": url, "size": path.stat().st_size, "sha256": pooch.file_hash(str(path), alg="sha256")}


def fetch_patient_metadata(out, base_url, record, timeout, progress):
    """Fetch the optional ISIC 2019 metadata CSV; True when it is here, else one line says why not."""
    if is_verified(out / ISIC_METADATA_CSV, record["files"].get(ISIC_METADATA_CSV)):
        print(f"{ISIC_METADATA_CSV}: already here and verified, not fetched again")
        return True
    record["files"].pop(ISIC_METADATA_CSV, None)
    problems = []
    for url in metadata_urls(base_url):
        try:
            size = remote_size(url, PATIENT_METADATA.stated_bytes, timeout)
            record["files"][ISIC_METADATA_CSV] = fetch_checked(url, out / ISIC_METADATA_CSV,
                                                               PATIENT_METADATA, size, timeout, progress)
            return True
        except DownloadError as error:
            problems.append(str(error).split(";")[0])
    print(f"{ISIC_METADATA_CSV} (age, sex, body site) not fetched ({'; '.join(problems)}): the images "
          f"are complete, but notebook 08 will skip its subgroup tables.")
    return False


def download(out=DEFAULT_OUT, mirror=None, timeout=TIMEOUT_S, progress=None):
    """Fetch, check and unpack the ISIC 2018 Task 3 training release into `out`; returns its record."""
    out, base_url = Path(out), mirror or BASE_URL
    progress = sys.stderr.isatty() if progress is None else progress  # bars only on a terminal
    out.mkdir(parents=True, exist_ok=True)
    record = {"source": base_url, "files": recorded_files(out), "complete": False}
    todo = plan(out, base_url, record, timeout)
    check_free_disk(out, space_needed(out, todo))
    write_json(out / RECORD, record)
    for remote in todo:
        record["files"][remote.name] = fetch_checked(file_url(base_url, remote.name), out / remote.name,
                                                     remote, todo[remote], timeout, progress)
        write_json(out / RECORD, record)
    unpack_all(out, todo, record)
    record["patient_metadata"] = fetch_patient_metadata(out, base_url, record, timeout, progress)
    record["images"] = len(check_contents(out))
    record["complete"] = True
    write_json(out / RECORD, record)
    return record
