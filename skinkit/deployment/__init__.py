"""Notebook 9: the fine-tuned models leave the notebook — ONNX export, int8 quantization, prediction on photos.

`contract` says what the exported model takes and gives, `export` writes and checks the files
(`python -m skinkit export`), `quantize` makes the int8 copy, `checks` measures agreement, scores
and latency, `predict` runs a model on any photo (`python -m skinkit predict`), and `report` turns
the numbers into notebook 9's table and sentences.
"""
