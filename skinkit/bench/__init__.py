"""`python -m skinkit bench`: the kit's speed-ups over the project report's pipeline, measured side by side.

Three measurements in one run, each timed in alternation (ABAB...) so that other work on the
machine hits both sides alike; the best run of each side is kept:

- pipeline: the project report's per-sample pipeline (PNG read and decoded on every access, PIL transforms,
  per-sample collation) against the kit's training loader (images decoded once into memory,
  whole-batch BatchAugment in the collate), both in the main process with num_workers=0;
- training step: the kit's step (channels_last model and input, the precision `skinkit.training.precision`
  picks, freed memory kept on CPUs) against a plain NCHW fp32 step of the same model in a fresh
  process with the default allocator, as a notebook without skinkit runs it, for the four stages;
- epoch: one real small_frozen epoch through `stage_loaders` + `train_one_epoch` against the pure
  compute time of the same batches held in memory, and the epoch time with 0, 1 and 2 workers.

This is a benchmark, not a test: the goals are printed next to the measurements, never enforced.
"""
