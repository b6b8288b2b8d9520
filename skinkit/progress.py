"""Progress bars that stay readable: live tqdm bars while running, plain text once saved.

JupyterLab does not save widget state, so a finished notebook bar would reopen as "Error
displaying widget". In a notebook, each bar is shown through an IPython display handle and,
when it closes, the handle is updated to a plain-text line (or to nothing, for bars that do not
`leave` a trace); nbclient applies the same update, so executed copies hold text, not widgets.

Where nobody watches a live bar (`make run` echoing a kernel's output, a command's output sent
to a log file), bars print plain lines instead: one a minute at most (batches done, time left),
and only once a bar has run that long. SKINKIT_PROGRESS_LINES sets the seconds.
"""

import os
import sys

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

from .errors import KitError

try:
    from IPython.display import display
    from tqdm.notebook import tqdm as notebook_tqdm
except ImportError:  # no Jupyter installed: console bars only
    notebook_tqdm = None

IN_NOTEBOOK = notebook_tqdm is not None and issubclass(auto_tqdm, notebook_tqdm)


if IN_NOTEBOOK:
    class NotebookBar(notebook_tqdm):
        """tqdm's notebook widget, displayed through a handle and replaced by text when closed."""

        def __init__(self, *args, **kwargs):
            self.handle = None
            super().__init__(*args, display=False, **kwargs)
            if self.delay <= 0:
                self.show()

        def show(self):
            """Display the widget once, through a display handle that can be updated later."""
            if self.handle is None and not self.disable:
                self.handle = display(self.container, display_id=True)
                self.displayed = True

        def display(self, *args, check_delay=True, **kwargs):
            """Update the widget; tqdm asks for a delayed bar's first display once `delay` has passed."""
            if check_delay and self.delay > 0:
                self.show()
            super().display(*args, check_delay=False, **kwargs)

        def close(self):
            """Close the bar and leave its last state as plain text (nothing when `leave` is False)."""
            super().close()
            if self.handle is not None:
                text = self.format_meter(**self.format_dict) if self.leave else ""
                self.handle.update({"text/plain": text}, raw=True)
                self.handle = None


class ProgressSettingError(KitError, ValueError):
    """SKINKIT_PROGRESS_LINES holds something that is not a number of seconds."""

    title = "Unusable setting"


class LineWriter:
    """A file for tqdm that turns each redraw of one bar into one printed line."""

    def __init__(self):
        self.last_count = None

    def write(self, text):
        """Print the bar's text as a line; skip blank redraws, and a redraw at the count of the line before.

        (A finished bar is drawn by its last step and again when it closes: the same count, a new rate.)
        """
        text = text.strip("\r\n ")
        count = text.split(" [")[0]  # description, percentage and done/total, before [elapsed<left, rate]
        if text and count != self.last_count:
            self.last_count = count
            print(text, file=sys.stdout, flush=True)

    def flush(self):
        """Nothing to do: every line is flushed as it is printed."""


def line_interval():
    """Seconds between plain progress lines, or None for live bars (a notebook, a terminal)."""
    value = os.environ.get("SKINKIT_PROGRESS_LINES", "").strip()
    if value:
        return seconds_setting("SKINKIT_PROGRESS_LINES", value)
    return None if IN_NOTEBOOK or sys.stderr.isatty() else 60.0


def seconds_setting(name, value):
    """The environment variable `name`'s `value` as seconds (a number, 0 or more); one-line error otherwise."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None or not seconds >= 0:  # also refuses nan
        raise ProgressSettingError(f"{name} is {value!r}, not a number of seconds; set it to one "
                                   f"(for example {name}=60 for a line a minute) or unset it.")
    return seconds


def progress_bar(iterable=None, **kwargs):
    """A tqdm bar: a widget in notebooks (plain text once finished), text in a terminal, or lines."""
    seconds = line_interval()
    if seconds is not None and not kwargs.get("disable"):
        delay = max(seconds, kwargs.pop("delay", 0))
        # position=0: a nested bar would otherwise move the cursor up (ESC[A) to redraw in place,
        # which a log shows as stray codes; as lines, bars need no place on the screen.
        # miniters=1: with tqdm's adaptive count, its monitor thread prints a line with a stale
        # count (seen in a log: "34/95 [01:00" again at [02:00"); now each step checks the clock.
        kwargs.update(file=LineWriter(), ascii=True, mininterval=seconds, maxinterval=seconds, delay=delay,
                      position=0, miniters=1)
        return text_tqdm(iterable, **kwargs)
    return (NotebookBar if IN_NOTEBOOK else auto_tqdm)(iterable, **kwargs)


def write_line(text):
    """Print one line without breaking the progress bars that are running."""
    auto_tqdm.write(text)
