"""Run every notebook and worked solution in JupyterLab in a real Chromium, as a student would.

It checks what the screen shows.

    python scripts/browser_check.py      # make browser-check

Copies notebooks/0*.ipynb and notebooks/solutions/0*.ipynb into runs/browser/notebooks/ (the
committed notebooks are never saved over), starts JupyterLab headless on 127.0.0.1 in smoke mode
with a fresh run folder, and in Chromium (Playwright, window 1400 px wide with the file browser
open) opens each notebook in turn in one JupyterLab page, does Run All in order (the course
notebooks, then their solutions, which read the runs the course notebooks wrote), waits for the
kernel, screenshots it, saves it and closes it. Then it shuts the kernels down, loads JupyterLab
in a fresh page and reopens each saved course notebook there in turn (students reopen their own
notebooks; the solutions, which they are not given, are checked as Run All leaves them).

All notebooks of a pass share one kernel (PyTorch is imported once, which keeps CI short);
nbval in `make test` runs each notebook in a kernel of its own, so a notebook that leans on a
variable another one defined still fails there. `--kernel-per-notebook` starts one for each.

It fails on: an error output or a cell that did not run, `Error displaying widget`, a browser
console error, a table or output wider than the notebook panel, or a printed line too long for
the panel (JupyterLab breaks it mid-word). Cells are counted from 0, as in the .ipynb file.
Needs the Python package `playwright` and Debian's `chromium` (`apt-get install -y chromium`).
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1400, 900
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium cannot capture taller pages in one piece
MARKER = ".browser-check"  # marks a folder this check may empty
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
DEFAULT_PATTERNS = ("0*.ipynb", "solutions/0*.ipynb")  # course notebooks first: solutions read their runs

# JupyterLab settings for the check's own settings folder (the student's settings stay untouched):
# every cell is kept in the page so all of them can be measured, no blank screen's height is
# added after the last cell, and the "get Jupyter news?" pop-up, which needs the internet,
# stays closed instead of covering the screenshots.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none", "scrollPastEnd": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}

# Console errors that say nothing about the kit, each with the reason it is harmless.
BENIGN_CONSOLE = {}

# Measures every output of every cell in the page: widget errors, Python warnings shown raw
# (`path.py:75: SomeWarning:` + a source line, which reads like a traceback), widths, and printed
# lines longer than the output area holds (monospace: width = characters x one glyph's width).
MEASURE_JS = """
() => {
  const found = [];
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  cells.forEach((cell, index) => {
    const prompt = (cell.querySelector('.jp-InputPrompt') || {}).innerText || '';
    cell.querySelectorAll('.jp-OutputArea-output').forEach(output => {
      const text = output.innerText || '';
      const base = {cell: index, prompt: prompt.trim()};
      if (text.includes('Error displaying widget')) {
        const line = text.split('\\n').find(l => l.includes('Error displaying widget'));
        found.push({...base, kind: 'widget-error', text: line});
      }
      const warning = text.match(/^.*\\S+\\.py:\\d+: \\w*Warning:.*$/m);
      if (warning) found.push({...base, kind: 'raw-warning', text: warning[0]});
      const table = output.querySelector('table');
      const width = Math.max(output.scrollWidth, table ? Math.ceil(table.getBoundingClientRect().width) : 0);
      if (width > output.clientWidth + 1) {
        found.push({...base, kind: table ? 'wide-table' : 'wide-output', width: width,
                    room: output.clientWidth, text: text.trim().split('\\n')[0]});
      }
      output.querySelectorAll('pre').forEach(pre => {
        const style = getComputedStyle(pre);
        const probe = document.createElement('span');
        probe.textContent = 'x'.repeat(100);
        probe.style.cssText = 'position: absolute; visibility: hidden; white-space: pre';  // never wraps
        pre.appendChild(probe);
        const glyph = probe.getBoundingClientRect().width / 100;
        probe.remove();
        const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        const room = Math.floor(inner / glyph + 0.01);
        pre.textContent.split('\\n').forEach(line => {
          if (line.length > room) found.push({...base, kind: 'long-line', chars: line.length, room: room, text: line});
        });
      });
    });
  });
  return {cells: cells.length, found: found};
}
"""


class BrowserCheckError(Exception):
    """The check could not run (a missing browser, a server that did not start)."""


class Failure(NamedTuple):
    """One problem: which notebook, in which phase (after Run All, reopened), where in it, what."""

    notebook: str
    phase: str
    place: str
    what: str


@dataclass
class Lab:
    """A running JupyterLab server."""

    process: subprocess.Popen
    url: str
    token: str


def shorten(text, limit=70):
    """`text` on one line, cut to `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def place(item):
    """'cell 12 [7]': the cell's index in the .ipynb and, when it ran, its execution count."""
    prompt = item.get("prompt", "")
    return f"cell {item['cell']}" + (f" {prompt.rstrip(':')}" if prompt.startswith("[") else "")


def describe(item):
    """What one DOM measurement found, in words."""
    kind = item["kind"]
    if kind == "widget-error":
        return f"shows {shorten(item['text'])!r}"
    if kind == "raw-warning":
        return f"a Python warning shown raw, with file path and source line: {shorten(item['text'])!r}"
    if kind in ("wide-table", "wide-output"):
        what = "table" if kind == "wide-table" else "output"
        return f"{what} {item['width']} px wide in a {item['room']} px panel (cut off): {shorten(item['text'])!r}"
    if kind == "long-line":
        return (f"printed line of {item['chars']} characters wraps mid-word (room for {item['room']}): "
                f"{shorten(item['text'])!r}")
    raise ValueError(f"unknown measurement kind {kind!r}")


def dom_failures(notebook, phase, measured):
    """One Failure per problem the page measurement found (see MEASURE_JS)."""
    return [Failure(notebook, phase, place(item), describe(item)) for item in measured["found"]]


def saved_failures(notebook, phase, path):
    """Error outputs and code cells that never ran, read from the saved notebook file."""
    cells = json.loads(Path(path).read_text())["cells"]
    failures = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                failures.append(Failure(notebook, phase, f"cell {index}",
                                        f"error output {output['ename']}: {shorten(output['evalue'], 120)}"))
        source = "".join(cell["source"]).strip()
        if source and cell.get("execution_count") is None:
            failures.append(Failure(notebook, phase, f"cell {index}", f"did not run: {shorten(source, 50)!r}"))
    return failures


def has_widget_outputs(path):
    """True when the saved notebook holds a widget output (ipywidgets, e.g. a live progress bar)."""
    cells = json.loads(Path(path).read_text())["cells"]
    return any(WIDGET_MIME in output.get("data", {}) for cell in cells for output in cell.get("outputs", []))


def benign(text):
    """The reason a console error is harmless, or None when it counts as a failure."""
    return next((reason for pattern, reason in BENIGN_CONSOLE.items() if pattern in text), None)


def console_failures(notebook, phase, messages):
    """One Failure per browser console error that is not known to be harmless (its first line only)."""
    return [Failure(notebook, phase, "", f"browser console error: {shorten((text.splitlines() or [''])[0], 120)}")
            for text in messages if benign(text) is None]


def summary(failures):
    """One line per distinct problem, grouped by notebook, naming the phases it showed in and how often."""
    seen = defaultdict(Counter)  # (notebook, place, what) -> {phase: how often}
    for failure in failures:
        seen[failure.notebook, failure.place, failure.what][failure.phase] += 1
    lines = []
    for (notebook, where, what), phases in sorted(seen.items(), key=lambda entry: entry[0][0]):
        times = max(phases.values())
        tags = ", ".join(phases) + (f", {times}x" if times > 1 else "")
        lines.append(f"{notebook}{' ' + where if where else ''} ({tags}): {what}")
    return lines


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def empty_out(out):
    """Remove the previous check's `out`; refuse a folder the check did not make."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BrowserCheckError(f"{out} holds files the browser check did not write: choose a new folder with --out")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by scripts/browser_check.py; emptied at its next run\n")


def notebooks_matching(patterns):
    """The notebooks/ files each pattern matches, in name order within each pattern, as paths under notebooks/."""
    folder = ROOT / "notebooks"
    names = []
    for pattern in patterns:
        names += [path.relative_to(folder).as_posix() for path in sorted(folder.glob(pattern))]
    if not names:
        raise BrowserCheckError(f"no notebooks match {' or '.join(f'notebooks/{p}' for p in patterns)}")
    return names


def prepare_folder(out, patterns):
    """A fresh `out` with copies of the notebooks, an empty run folder and JupyterLab settings."""
    names = notebooks_matching(patterns)
    empty_out(out)
    (out / "runs").mkdir()
    for name in names:
        (out / "notebooks" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "notebooks" / name, out / "notebooks" / name)
    for name, values in LAB_SETTINGS.items():
        target = out / "jupyterlab" / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return names


def lab_environment(out):
    """The server's (and so the kernels') environment: smoke mode, the check's own run folder and settings."""
    env = dict(os.environ, SKINKIT_SMOKE="1", SKINKIT_RUNS=str(out / "runs"),
               JUPYTERLAB_SETTINGS_DIR=str(out / "jupyterlab" / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(out / "jupyterlab" / "workspaces"))
    env.pop("SKINKIT_DATA", None)  # smoke mode checks the bundled sample
    return env


def start_lab(jupyter, out, timeout):
    """Start JupyterLab on a free port of 127.0.0.1, serving the copies; return once it answers."""
    if shutil.which(jupyter) is None:
        raise BrowserCheckError(f"jupyter not found at {jupyter!r}: run `make setup`, or pass --jupyter PATH")
    port, token = free_port(), secrets.token_hex(16)
    # window.jupyterapp lets one page open the notebooks in turn: loading JupyterLab anew for each
    # notebook took 8 s of the 2-core CI machine every time
    command = [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--LabApp.expose_app_in_browser=True", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={out / 'notebooks'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with (out / "jupyterlab.log").open("w") as log:  # the server keeps its own copy of the handle
        process = subprocess.Popen(command, env=lab_environment(out), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(process, f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserCheckError(
                f"JupyterLab stopped at start (exit {process.returncode}); see {out / 'jupyterlab.log'}")
        try:
            api(lab, "GET", "status")
            return lab
        except OSError:
            time.sleep(0.5)
    stop_lab(lab)
    raise BrowserCheckError(f"JupyterLab did not answer within {timeout} s; see {out / 'jupyterlab.log'}")


def stop_lab(lab):
    """Stop the server and its kernels (SIGTERM to its process group, SIGKILL after 20 s)."""
    if lab.process.poll() is not None:
        return
    os.killpg(lab.process.pid, signal.SIGTERM)
    try:
        lab.process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(lab.process.pid, signal.SIGKILL)
        lab.process.wait()


def api(lab, method, path, body=None):
    """Call the server's REST API with an optional JSON body; the decoded JSON answer (None when empty)."""
    request = urllib.request.Request(f"{lab.url}/api/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {lab.token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body else None


def share_one_kernel(lab, notebooks):
    """Start one kernel and give every notebook a session on it, so opening them reuses it."""
    kernel = api(lab, "POST", "kernels", {"name": "python3"})
    for name in notebooks:
        api(lab, "POST", "sessions", {"path": name, "name": name, "type": "notebook", "kernel": {"id": kernel["id"]}})


def start_pass(lab, notebooks, kernel_per_notebook):
    """Before a pass over the notebooks: one shared kernel for all of them, unless each gets its own."""
    if not kernel_per_notebook:
        share_one_kernel(lab, notebooks)


def shutdown_kernels(lab):
    """Shut every kernel down, as closing JupyterLab for the day would (the server then drops their sessions)."""
    kernels = api(lab, "GET", "kernels")
    for kernel in kernels:
        api(lab, "DELETE", f"kernels/{kernel['id']}")
    leftover = api(lab, "GET", "sessions")  # listing them drops the sessions whose kernel is gone
    if leftover:
        raise BrowserCheckError(f"{len(leftover)} notebook sessions stayed open after their kernels were shut down")
    print(f"  (kernels used in this pass: {len(kernels)}; shut down)", flush=True)


def chromium_path(requested):
    """The Chromium executable to drive, or a one-line error saying how to install it."""
    path = shutil.which(requested)
    if path is None:
        raise BrowserCheckError(f"Chromium not found at {requested!r}: install it with "
                                "`apt-get install -y chromium` (as root) or pass --chromium PATH")
    return path


def collect_console_errors(page, messages):
    """Append the text of every console error and uncaught exception on `page` to `messages`."""
    def on_console(message):
        if message.type == "error":
            messages.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: messages.append(f"uncaught {error}"))


def open_lab(browser, lab, messages):
    """A fresh page with JupyterLab loaded and no document open; console errors go to `messages`."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    collect_console_errors(page, messages)
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=120_000)
    page.evaluate("() => window.jupyterapp.restored")
    return page


def open_notebook(page, name):
    """Open notebook `name` in JupyterLab on `page` and wait until its kernel is idle."""
    # The command resolves to the notebook widget; returning it would make Playwright serialise
    # JupyterLab's object graph, which took 5 s per notebook.
    page.evaluate("name => window.jupyterapp.commands.execute('docmanager:open', {path: name}).then(() => null)",
                  name)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    wait_until_idle(page, 120, name)


def close_documents(page):
    """Close every open document without asking (the run pass has saved its notebook)."""
    page.evaluate("() => [...window.jupyterapp.shell.widgets('main')].forEach(widget => widget.dispose())")
    page.wait_for_selector(".jp-Notebook", state="detached", timeout=30_000)


# True while a cell runs or waits its turn: its prompt shows [*].
CELL_QUEUED_JS = ("() => [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
                  ".some(p => p.innerText.includes('[*]'))")
# True once Run All has reached a cell: its prompt shows [*] or an execution count (the copies are
# committed clean); a notebook whose first cell fails at once may never be seen queued.
CELL_STARTED_JS = ("() => [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
                   ".some(p => /\\[(\\*|\\d+)\\]/.test(p.innerText))")


def kernel_busy(page):
    """True while the notebook's kernel works or a cell waits its turn ([*])."""
    return page.evaluate(f"""() => {{
        const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
        return ({CELL_QUEUED_JS})() || !status || status.dataset.status !== 'idle';
    }}""")


def wait_until_idle(page, timeout, notebook):
    """Wait until the kernel has been idle with no cell queued for half a second (2 checks in a row)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise BrowserCheckError(f"{notebook}: the kernel was still busy after {timeout} s (see --timeout)")
        quiet = 0 if kernel_busy(page) else quiet + 1
        page.wait_for_timeout(250)


def menu(page, top, item):
    """Click a menu entry, e.g. Run → Run All Cells."""
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.get_by_role("menuitem", name=item, exact=False).first.click()


def run_all(page, timeout, notebook):
    """Run All Cells, wait until the first cell has started, then until the kernel is done."""
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(CELL_STARTED_JS, timeout=30_000)
    wait_until_idle(page, timeout, notebook)


def save(page):
    """File → Save Notebook, then wait until the tab no longer shows unsaved changes."""
    menu(page, "File", "Save Notebook")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=60_000)


def settle(page):
    """Wait until the browser has laid out and painted the page after a change (two animation frames)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def screenshot(page, path):
    """Screenshot the whole notebook: the window grows tall enough to show every cell, then shrinks back."""
    scroller = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"
    height = page.evaluate(f"() => {{ const s = document.querySelector('{scroller}'); "
                           "return s ? s.scrollHeight - s.clientHeight : 0; }")
    page.set_viewport_size({"width": WIDTH, "height": min(HEIGHT + height, MAX_SCREENSHOT_HEIGHT)})
    page.evaluate(f"() => {{ const s = document.querySelector('{scroller}'); if (s) s.scrollTop = 0; }}")
    settle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    settle(page)


def check_page(page, notebook, phase, messages, shot=None):
    """The open notebook's failures from the page and the console; first a screenshot into `shot`, if given."""
    if shot:
        screenshot(page, shot)
    measured = page.evaluate(MEASURE_JS)
    print(f"  {phase}: {measured['cells']} cells" + (f", screenshot {shot}" if shot else ""), flush=True)
    return dom_failures(notebook, phase, measured) + console_failures(notebook, phase, messages)


def run_pass(browser, lab, notebooks, out, timeout):
    """In one JupyterLab page, Run All, check, screenshot and save each notebook in order; the failures found."""
    failures, messages = [], []
    page = open_lab(browser, lab, messages)
    for name in notebooks:
        started = time.monotonic()
        print(f"{name}: Run All ...", flush=True)
        open_notebook(page, name)
        run_all(page, timeout, name)
        failures += check_page(page, name, "after Run All", messages, out / f"{Path(name).stem}.png")
        save(page)
        failures += saved_failures(name, "after Run All", out / "notebooks" / name)
        close_documents(page)
        messages.clear()  # each notebook answers for its own console errors
        print(f"  {time.monotonic() - started:.0f} s", flush=True)
    page.close()
    return failures


def reopen_pass(browser, lab, notebooks, out):
    """Reopen each saved notebook in a fresh JupyterLab page, one after another, and check it; the failures found."""
    failures, messages = [], []
    page = open_lab(browser, lab, messages)
    for name in notebooks:
        print(f"{name}: reopened", flush=True)
        open_notebook(page, name)
        if has_widget_outputs(out / "notebooks" / name):
            page.wait_for_timeout(2000)  # give the widget outputs time to render (or fail to)
        failures += check_page(page, name, "reopened", messages)
        close_documents(page)
        messages.clear()
    page.close()
    return failures


def check(args):
    """The whole check; the list of failures."""
    executable = chromium_path(args.chromium)
    try:
        from playwright.sync_api import sync_playwright  # only this check needs playwright
    except ModuleNotFoundError:
        raise BrowserCheckError("the Python package playwright is missing: run `make browser-check` "
                                "(it installs it) or `pip install playwright`") from None
    out = args.out.resolve()
    notebooks = prepare_folder(out, args.pattern or DEFAULT_PATTERNS)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the clean-up below runs
    lab = start_lab(args.jupyter, out, timeout=120)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable)
            try:
                start_pass(lab, notebooks, args.kernel_per_notebook)
                failures = run_pass(browser, lab, notebooks, out, args.timeout)
                shutdown_kernels(lab)
                start_pass(lab, notebooks, args.kernel_per_notebook)
                failures += reopen_pass(browser, lab, [name for name in notebooks if not name.startswith("solutions/")],
                                        out)
                shutdown_kernels(lab)
            finally:
                browser.close()
    finally:
        stop_lab(lab)
    return failures


def main(argv=None):
    """Run the check; print the failures and where the screenshots are; exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "browser",
                        help="folder for screenshots, notebook copies and run folders (emptied first)")
    parser.add_argument("--jupyter", default=str(Path(sys.executable).with_name("jupyter")),
                        help="the jupyter command whose Python has skinkit (default: beside this Python)")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"),
                        help="Chromium executable (default: $CHROMIUM or chromium on the PATH)")
    parser.add_argument("--pattern", action="append",
                        help="which notebooks/ files to run, in name order; repeat for more "
                             f"(default: {' then '.join(DEFAULT_PATTERNS)})")
    parser.add_argument("--kernel-per-notebook", action="store_true",
                        help="start a kernel for each notebook, as a student opening them one by one would")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one notebook's Run All may take")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        failures = check(args)
    except BrowserCheckError as error:
        print(f"browser-check: {error}", file=sys.stderr)
        return 2
    print(f"\nscreenshots: {args.out.resolve()}/*.png  ({time.monotonic() - started:.0f} s in all)")
    if failures:
        lines = summary(failures)
        print(f"browser-check FAILED ({len(lines)} problems; cells counted from 0 as in the .ipynb):", file=sys.stderr)
        print("\n".join(f"  {line}" for line in lines), file=sys.stderr)
        return 1
    print("browser-check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
