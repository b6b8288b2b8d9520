"""`python -m skinkit download` against a local HTTP server serving the ISIC 2018 release layout.

The release is built from the bundled sample (105 images); no test touches the real network.
"""

import hashlib
import json
import re
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from skinkit.__main__ import main
from skinkit.data.download import RECORD, DownloadError, download, metadata_urls
from skinkit.data.ham10000 import ISIC_GROUND_TRUTH_CSV, ISIC_GROUPINGS_CSV, ISIC_IMAGES_DIR, ISIC_METADATA_CSV

from .helpers import ROOT
from .isic_fixtures import (
    GROUND_TRUTH_ZIP,
    IMAGES_ZIP,
    PATIENT_COLUMNS,
    ground_truth_table,
    groupings_table,
    patient_metadata_bytes,
    patient_metadata_table,
    release_files,
    sample_jpegs,
    zip_bytes,
)


class ReleaseHandler(BaseHTTPRequestHandler):
    """Serves `server.files` by name; `server.faults` makes a file fail in one chosen way."""

    def do_HEAD(self):
        self.respond(send_body=False)

    def do_GET(self):
        self.respond(send_body=True)

    def respond(self, send_body):
        name = self.path.rsplit("/", 1)[-1]
        self.server.requests.append((self.command, name))
        self.server.paths.append(self.path)
        fault = self.server.faults.get(name)
        if fault in (403, 404) or name not in self.server.files:
            self.send_response(fault or 404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = self.server.files[name]
        self.send_response(200)
        huge = fault == "huge" and self.command == "HEAD"
        self.send_header("Content-Length", str(10**15 if huge else len(data)))
        self.end_headers()
        if send_body and fault == "cut-once":  # half the bytes, then hang up (once)
            del self.server.faults[name]
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
        elif send_body:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The sample's metadata, its JPEG folder, and the three release files built from them."""
    jpegs = tmp_path_factory.mktemp("release") / "jpegs"
    meta = sample_jpegs(jpegs)
    return meta, jpegs, release_files(meta, jpegs)


@pytest.fixture
def server(release):
    """A local HTTP server serving a fresh copy of the release under /2018/ (and the 2019 metadata)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ReleaseHandler)
    httpd.files, httpd.faults, httpd.requests, httpd.paths = dict(release[2]), {}, [], []
    httpd.files[ISIC_METADATA_CSV] = patient_metadata_bytes(release[0])
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/2018/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run_download(out, url, capsys):
    """`python -m skinkit download` in-process: (exit code, stdout, stderr)."""
    code = main(["download", "--out", str(out), "--mirror", url])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def gets(server):
    return [name for method, name in server.requests if method == "GET"]


def record(out):
    return json.loads((out / RECORD).read_text())


def assert_not_complete(out):
    """No download.json saying complete, and no staging folder or temporary file left behind."""
    assert not ((out / RECORD).is_file() and record(out)["complete"])
    leftovers = [p.name for p in out.iterdir() if p.name.startswith((".", "tmp"))] if out.is_dir() else []
    assert leftovers == []


def assert_one_error_line(code, err, pattern):
    assert code == 2
    assert err.startswith("download: ") and err.count("\n") == 1, err
    assert re.search(pattern, err), err


# --- the happy path -------------------------------------------------------------------------------

def test_download_then_prepare_end_to_end(server, release, tmp_path, capsys):
    out = tmp_path / "ham10000"
    code, printed, _ = run_download(out, server.url, capsys)
    assert code == 0
    assert f"105 images ready in {out}" in printed
    assert f"next: python -m skinkit prepare --ham10000 {out}" in printed
    assert " KB)" in printed and "(0.0 MB)" not in printed  # the small CSVs are announced in KB
    done = record(out)
    assert done["complete"] and done["images"] == 105 and done["source"] == server.url
    for name, data in release[2].items():
        assert done["files"][name] == {"url": server.url + name, "size": len(data),
                                       "sha256": hashlib.sha256(data).hexdigest()}
    assert len(list((out / ISIC_IMAGES_DIR).glob("*.jpg"))) == 105
    course = tmp_path / "course"
    capsys.readouterr()
    assert main(["prepare", "--ham10000", str(out), "--out", str(course), "--size", "24",
                 "--preset", "all-test"]) == 0
    assert "105 images, not the full release's 10,015" in capsys.readouterr().out
    manifest = pd.read_csv(course / "manifest.csv")
    assert sorted(manifest["image_id"]) == sorted(release[0]["image_id"])
    assert len(list((course / "test").glob("*.png"))) == 105
    # age, sex and body site came with the ISIC 2019 metadata, from the challenge's 2019/ folder
    assert done["patient_metadata"] is True
    assert f"/2019/{ISIC_METADATA_CSV}" in server.paths
    assert done["files"][ISIC_METADATA_CSV]["url"] == server.url.replace("/2018/", "/2019/") + ISIC_METADATA_CSV
    expected = release[0].set_index("image_id").loc[manifest["image_id"], PATIENT_COLUMNS]
    assert manifest["sex"].tolist() == expected["sex"].tolist()
    assert manifest["localization"].tolist() == expected["localization"].tolist()
    assert manifest["age"].tolist() == expected["age"].astype(float).tolist()


def test_a_rerun_fetches_nothing(server, tmp_path, capsys):
    out = tmp_path / "ham10000"
    assert run_download(out, server.url, capsys)[0] == 0
    server.requests.clear()
    code, printed, _ = run_download(out, server.url, capsys)
    assert code == 0
    assert gets(server) == []
    assert printed.count("already here and verified, not fetched again") == 4


def test_a_damaged_local_file_is_fetched_again(server, tmp_path, capsys):
    out = tmp_path / "ham10000"
    assert run_download(out, server.url, capsys)[0] == 0
    csv = out / ISIC_GROUPINGS_CSV
    csv.write_bytes(csv.read_bytes().replace(b"histopathology", b"histopathologY"))  # same size
    server.requests.clear()
    assert run_download(out, server.url, capsys)[0] == 0
    assert gets(server) == [ISIC_GROUPINGS_CSV]
    assert hashlib.sha256(csv.read_bytes()).hexdigest() == record(out)["files"][ISIC_GROUPINGS_CSV]["sha256"]


def test_a_transfer_cut_off_halfway_is_completed_by_a_rerun(server, tmp_path, capsys):
    out = tmp_path / "ham10000"
    server.faults[IMAGES_ZIP] = "cut-once"
    code, _, err = run_download(out, server.url, capsys)
    assert_one_error_line(code, err, f"{IMAGES_ZIP}: the transfer broke off.*rerun the command")
    assert not (out / IMAGES_ZIP).exists() and not (out / ISIC_IMAGES_DIR).exists()
    assert IMAGES_ZIP not in record(out)["files"]
    assert_not_complete(out)
    server.requests.clear()
    assert run_download(out, server.url, capsys)[0] == 0
    assert gets(server) == [IMAGES_ZIP, ISIC_METADATA_CSV]  # the two files that arrived whole are kept
    assert record(out)["complete"] and record(out)["images"] == 105


def test_a_zip_damaged_in_transit_is_deleted_and_fetched_again_by_a_rerun(server, release, tmp_path, capsys):
    jpegs = sorted(release[1].glob("*.jpg"))
    good = zip_bytes({f"{ISIC_IMAGES_DIR}/{p.name}": p.read_bytes() for p in jpegs}, zipfile.ZIP_STORED)
    middle = good.index(jpegs[50].read_bytes()) + 200  # a byte inside one stored JPEG: its CRC fails
    server.files[IMAGES_ZIP] = good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1:]
    out = tmp_path / "ham10000"
    code, _, err = run_download(out, server.url, capsys)
    assert_one_error_line(code, err, f"{IMAGES_ZIP}: damaged zip .*CRC.*rerun the command")
    assert not (out / IMAGES_ZIP).exists() and not (out / ISIC_IMAGES_DIR).exists()
    assert IMAGES_ZIP not in record(out)["files"]
    assert_not_complete(out)
    server.files[IMAGES_ZIP] = good
    assert run_download(out, server.url, capsys)[0] == 0
    assert record(out)["complete"]


# --- the optional ISIC 2019 metadata ----------------------------------------------------------------

def test_metadata_urls_try_the_2019_folder_first_then_the_mirror_itself():
    assert metadata_urls("https://isic-challenge-data.s3.amazonaws.com/2018/") == [
        f"https://isic-challenge-data.s3.amazonaws.com/2019/{ISIC_METADATA_CSV}",
        f"https://isic-challenge-data.s3.amazonaws.com/2018/{ISIC_METADATA_CSV}"]
    assert metadata_urls("http://course.example/ham")[1] == f"http://course.example/ham/{ISIC_METADATA_CSV}"


def metadata_not_served(server, release):
    del server.files[ISIC_METADATA_CSV]


def metadata_without_sex(server, release):
    table = patient_metadata_table(release[0]).drop(columns="sex")
    server.files[ISIC_METADATA_CSV] = table.to_csv(index=False).encode()


def test_a_2019_folder_that_fails_falls_back_to_the_mirror_folder(server, tmp_path, capsys):
    server.faults[ISIC_METADATA_CSV] = "cut-once"  # the first try (2019/) breaks off halfway
    out = tmp_path / "ham10000"
    code, printed, _ = run_download(out, server.url, capsys)
    assert code == 0 and "subgroup tables" not in printed
    assert [p for p in server.paths if p.endswith(ISIC_METADATA_CSV)][-1] == \
        f"/2018/{ISIC_METADATA_CSV}"
    assert record(out)["files"][ISIC_METADATA_CSV]["url"] == server.url + ISIC_METADATA_CSV


@pytest.mark.parametrize("problem", [metadata_not_served, metadata_without_sex],
                         ids=lambda f: f.__name__)
def test_without_the_2019_metadata_the_images_still_arrive_and_one_line_says_so(problem, server, release,
                                                                                tmp_path, capsys):
    problem(server, release)
    out = tmp_path / "ham10000"
    code, printed, err = run_download(out, server.url, capsys)
    assert code == 0 and err == ""
    assert printed.count("subgroup tables") == 1
    assert re.search(f"{ISIC_METADATA_CSV} .*not fetched .*notebook 08 will skip its subgroup tables", printed)
    done = record(out)
    assert done["complete"] and done["images"] == 105 and done["patient_metadata"] is False
    assert not (out / ISIC_METADATA_CSV).exists() and ISIC_METADATA_CSV not in done["files"]
    assert main(["prepare", "--ham10000", str(out), "--out", str(tmp_path / "course"), "--size", "24",
                 "--preset", "all-test"]) == 0
    columns = pd.read_csv(tmp_path / "course" / "manifest.csv").columns
    assert not set(PATIENT_COLUMNS) & set(columns)
    assert "notebook 08 will skip its subgroup tables" in capsys.readouterr().out


# --- each failure: one line, exit 2, nothing that looks complete -------------------------------------

def serve_status(status, name):
    def fault(server, release):
        server.faults[name] = status
        return f"{name}: HTTP {status}.*check --mirror.*README.md"
    fault.__name__ = f"http_{status}_{name}"
    return fault


def too_little_disk(server, release):
    server.faults[IMAGES_ZIP] = "huge"  # its HEAD announces 1 PB
    return r"needs 2000000\.\d\d GB free to fetch and unpack, the disk has"


def not_a_zip(server, release):
    server.files[IMAGES_ZIP] = b"<html><body>Access denied</body></html>"
    return f"{IMAGES_ZIP}: not a readable zip archive.*deleted"


def zip_without_the_images_folder(server, release):
    server.files[IMAGES_ZIP] = zip_bytes({path.name: path.read_bytes() for path in release[1].glob("*.jpg")})
    return f"{IMAGES_ZIP}: the zip holds no {ISIC_IMAGES_DIR}/"


def groupings_without_lesion_id(server, release):
    groupings = groupings_table(release[0]).drop(columns="lesion_id")
    server.files[ISIC_GROUPINGS_CSV] = groupings.to_csv(index=False).encode()
    return f"{ISIC_GROUPINGS_CSV}: missing column.*lesion_id.*deleted"


def ground_truth_without_nv(server, release):
    truth = ground_truth_table(release[0]).drop(columns="NV")
    server.files[GROUND_TRUTH_ZIP] = zip_bytes({ISIC_GROUND_TRUTH_CSV: truth.to_csv(index=False).encode()})
    return f"{GROUND_TRUTH_ZIP}:{ISIC_GROUND_TRUTH_CSV}: missing column.*NV"


def images_missing_from_the_zip(server, release):
    meta, jpegs, _ = release
    gone = list(meta["image_id"])[:2]  # in the order of the CSV
    kept = [path for path in sorted(jpegs.glob("*.jpg")) if path.stem not in gone]
    server.files[IMAGES_ZIP] = zip_bytes({f"{ISIC_IMAGES_DIR}/{p.name}": p.read_bytes() for p in kept})
    return f"2 missing in all: {gone[0]}.jpg, {gone[1]}.jpg"


def a_truncated_image(server, release):
    jpegs = sorted(release[1].glob("*.jpg"))
    files = {f"{ISIC_IMAGES_DIR}/{p.name}": p.read_bytes() for p in jpegs}
    files[f"{ISIC_IMAGES_DIR}/{jpegs[3].name}"] = jpegs[3].read_bytes()[:300]
    server.files[IMAGES_ZIP] = zip_bytes(files)
    return f"1 image\\(s\\) cannot be read: {jpegs[3].name}"


FAILURES = [serve_status(404, IMAGES_ZIP), serve_status(403, GROUND_TRUTH_ZIP), too_little_disk, not_a_zip,
            zip_without_the_images_folder, groupings_without_lesion_id, ground_truth_without_nv,
            images_missing_from_the_zip, a_truncated_image]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.__name__)
def test_a_failure_is_one_line_exit_2_and_leaves_nothing_complete_looking(failure, server, release,
                                                                           tmp_path, capsys):
    pattern = failure(server, release)
    out = tmp_path / "ham10000"
    code, _, err = run_download(out, server.url, capsys)
    assert_one_error_line(code, err, pattern)
    assert_not_complete(out)


@pytest.mark.parametrize("failure", [serve_status(404, IMAGES_ZIP), too_little_disk],
                         ids=lambda f: f.__name__)
def test_checks_before_starting_fetch_nothing(failure, server, release, tmp_path, capsys):
    failure(server, release)
    assert run_download(tmp_path / "out", server.url, capsys)[0] == 2
    assert gets(server) == []


@pytest.mark.parametrize("failure", [not_a_zip, groupings_without_lesion_id], ids=lambda f: f.__name__)
def test_a_wrong_file_is_deleted_and_unrecorded(failure, server, release, tmp_path, capsys):
    failure(server, release)
    out = tmp_path / "out"
    assert run_download(out, server.url, capsys)[0] == 2
    name = IMAGES_ZIP if failure is not_a_zip else ISIC_GROUPINGS_CSV
    assert not (out / name).exists() and name not in record(out)["files"]


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_host_names_the_url_and_the_manual_route(tmp_path, capsys):
    url = f"http://127.0.0.1:{closed_port()}/2018/"
    code, _, err = run_download(tmp_path / "out", url, capsys)
    assert_one_error_line(code, err, f"cannot reach {url}{ISIC_GROUPINGS_CSV} \\(no connection\\).*README.md")
    assert_not_complete(tmp_path / "out")


def test_a_host_that_never_answers_is_given_up_after_the_timeout(tmp_path):
    with socket.socket() as silent:  # accepts connections (kernel backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/2018/"
        with pytest.raises(DownloadError, match=r"cannot reach .* \(no answer within 0.2 s\)"):
            download(tmp_path / "out", mirror=url, timeout=0.2)


def test_the_default_source_is_the_isic_bucket_with_a_15_s_timeout():
    import inspect

    from skinkit.data import download as module
    assert module.BASE_URL == "https://isic-challenge-data.s3.amazonaws.com/2018/"
    assert inspect.signature(download).parameters["timeout"].default == 15


def test_make_data_does_not_tell_the_student_to_run_the_step_it_runs_itself(server, tmp_path, capsys):
    out = tmp_path / "ham10000"
    assert main(["download", "--out", str(out), "--mirror", server.url, "--no-next-step"]) == 0
    printed = capsys.readouterr().out
    assert "105 images ready" in printed and "next:" not in printed
    assert "--no-next-step" in (ROOT / "Makefile").read_text().split("\ndata:", 1)[1].split("\n\n", 1)[0]


def test_make_data_downloads_then_prepares_the_course_preset():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndata:", 1)[1].split("\n\n", 1)[0]
    assert "data" in re.search(r"^\.PHONY:.*$", makefile, re.M).group(0).split()
    assert recipe.index("-m skinkit download --out data/ham10000") < recipe.index(
        "-m skinkit prepare --ham10000 data/ham10000 --out data/course --preset course")
    assert "$(if $(MIRROR),--mirror $(MIRROR))" in recipe
