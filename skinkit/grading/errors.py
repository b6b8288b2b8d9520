"""The grading commands' own expected error."""

from ..confusion import RunFileError


class GradingInputError(RunFileError):
    """A grading input that cannot be used (matrix, config, archive, roster); the message names the file."""

    title = "Unusable grading input"
