"""An exported model behind one call, uint8 (N, 1, S, S) images -> probabilities, without PyTorch.

`contract.TorchClassifier` puts the PyTorch model behind the same call.
"""

from pathlib import Path

import numpy as np
import onnxruntime

from .inputs import INPUT_NAME, OOD_NAME, OUTPUT_NAME, ModelFileError

BATCH_SIZE = 50
QUIET = 3  # onnxruntime's log severity: errors only (its warnings are for developers, not students)



def session(path, threads=0):
    """An onnxruntime CPU session for the ONNX file at `path` (threads 0: onnxruntime's choice)."""
    path = Path(path)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = QUIET
    options.intra_op_num_threads = threads
    # Idle worker threads would otherwise spin for a while after each run and starve whatever runs
    # next on a small CPU (PyTorch, in the latency turns).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped exceptions for every file problem
        message = "no such file" if not path.exists() else f"not an ONNX model onnxruntime can run ({error})"
        raise ModelFileError(f"{path}: {message}; export one with `python -m skinkit export`.") from None


class OnnxClassifier:
    """An exported model run by onnxruntime on the CPU; its metadata says how to feed it."""

    def __init__(self, path, threads=0):
        self.path = Path(path)
        self.session = session(path, threads)
        self.metadata = self.session.get_modelmeta().custom_metadata_map
        missing = {"architecture", "image_size", "resize", "stage"} - set(self.metadata)
        if missing:
            raise ModelFileError(f"{path}: not exported by `python -m skinkit export` (its metadata lacks "
                                 f"{', '.join(sorted(missing))}); export the stage again.")
        self.architecture, self.stage = self.metadata["architecture"], self.metadata["stage"]
        self.resize, self.image_size = int(self.metadata["resize"]), int(self.metadata["image_size"])
        gated = {"conformal_threshold", "ood_threshold"} <= set(self.metadata)
        self.thresholds = {key: float(self.metadata[key]) for key in ("conformal_threshold", "ood_threshold")} \
            if gated else None

    def scores(self, images):
        """(probabilities (N, 7), ood scores (N,)) of a model exported with its gate."""
        return tuple(self.session.run([OUTPUT_NAME, OOD_NAME], {INPUT_NAME: np.asarray(images)}))

    def __call__(self, images):
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(images)})[0]


def probabilities(classifier, images, batch_size=BATCH_SIZE):
    """Class probabilities (N, 7) of uint8 images (N, 1, S, S), in batches."""
    images = np.asarray(images)
    return np.concatenate([classifier(images[start:start + batch_size])
                           for start in range(0, len(images), batch_size)])
