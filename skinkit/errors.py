"""The kit's expected errors: one base class, shown as one plain line wherever they surface.

`python -m skinkit` catches `KitError` once and prints `one_line(error)` to stderr (exit 2); in
Jupyter/IPython, `_render_traceback_` replaces the traceback by the same line, still reported as
an error, so nbval and nbclient see the cell fail. Anything else is a bug and keeps its traceback.
"""

import textwrap

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


# Here rather than beside the models: pytest's filterwarnings imports it, and this module does not import torch.
class PretrainedWeightsWarning(UserWarning):
    """ImageNet weights could not be loaded: the model starts from random initialisation."""
