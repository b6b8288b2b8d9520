"""The grading commands' own expected error."""

from ..confusion import RunFileError
from ..errors import KitError


class GradingInputError(RunFileError):
    """A grading input that cannot be used (matrix, config, archive, roster); the message names the file."""

    title = "Unusable grading input"


class OutputError(KitError):
    """A gradebook, verdicts file or feedback folder that cannot be written where it was asked for."""

    title = "Cannot write the grading output"
