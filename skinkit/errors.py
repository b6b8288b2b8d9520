"""The kit's expected errors (one plain line wherever they surface) and its notices to students.

`python -m skinkit` catches `KitError` once and prints `one_line(error)` to stderr (exit 2); in
Jupyter/IPython, `_render_traceback_` replaces the traceback by the same line, still reported as
an error, so nbval and nbclient see the cell fail. Anything else is a bug and keeps its traceback.
"""

import contextlib
import textwrap
import warnings

RED, BOLD_RED, RESET = "\x1b[31m", "\x1b[1;31m", "\x1b[0m"
# Notebook output breaks longer lines mid-word (mid-path); the message is wrapped between words instead.
NOTEBOOK_LINE_WIDTH = 100


def one_line(error, limit=None):
    """The error's message on a single line (whitespace runs collapsed), cut to `limit` characters if given."""
    return " ".join(str(error).split())[:limit] or type(error).__name__


class KitError(Exception):
    """An expected problem a student can fix; `title` says in a few words what kind it is."""

    title = "Problem"

    def _render_traceback_(self):
        """IPython's hook for custom tracebacks: the title and the message, in red, wrapped between words."""
        first, *rest = textwrap.wrap(f"{self.title}: {one_line(self)}", NOTEBOOK_LINE_WIDTH,
                                     break_long_words=False, break_on_hyphens=False)
        first = f"{BOLD_RED}{self.title}:{RESET}{RED}{first[len(self.title) + 1:]}{RESET}"
        return [first] + [f"{RED}{line}{RESET}" for line in rest]


class CheckpointError(KitError, ValueError):
    """A checkpoint file that cannot be loaded safely."""

    title = "Unreadable checkpoint"


class PrepareError(KitError, ValueError):
    """The HAM10000 source cannot give the requested dataset (raised while reading or preparing it)."""

    title = "Cannot prepare the dataset"


class KitWarning(UserWarning):
    """A notice meant for students, printed as its message alone while `plain_kit_warnings` is on."""


# Here rather than beside the models: pytest's filterwarnings imports it, and this module does not import torch.
class PretrainedWeightsWarning(KitWarning):
    """ImageNet weights could not be loaded: the model starts from random initialisation."""


class RunMovedAsideWarning(KitWarning):
    """A run folder held a run with other settings and was renamed aside (nothing is deleted)."""


def plain_format_for_kit_warnings(previous):
    """A warnings.formatwarning that prints a KitWarning as its bare message."""
    def formatwarning(message, category, filename, lineno, line=None):
        if issubclass(category, KitWarning):
            return f"{message}\n"
        return previous(message, category, filename, lineno, line)

    return formatwarning


@contextlib.contextmanager
def plain_kit_warnings():
    """While the kit emits a notice, print it as its message alone; restore the format after.

    JupyterLab shows a warning with its file path and source line in a pink block that reads like
    a traceback; these are meant for students. They stay warnings (`filterwarnings` can silence
    them or turn them into errors), and no other warning of the process changes its format.
    """
    previous = warnings.formatwarning
    warnings.formatwarning = plain_format_for_kit_warnings(previous)
    try:
        yield
    finally:
        warnings.formatwarning = previous
