"""Keep the exporter's and the quantizer's console noise out of the notebook and the command line."""

import contextlib
import io
import logging
import warnings

import onnxruntime

ORT_DEFAULT_SEVERITY, ORT_ERRORS_ONLY = 2, 3


@contextlib.contextmanager
def quietly():
    """Run a block with its prints, warnings and log records below ERROR swallowed (errors still raise)."""
    captured = io.StringIO()
    previous_disable = logging.root.manager.disable
    onnxruntime.set_default_logger_severity(ORT_ERRORS_ONLY)  # sessions the quantizer opens itself
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)
            yield
    finally:
        logging.disable(previous_disable)
        onnxruntime.set_default_logger_severity(ORT_DEFAULT_SEVERITY)
