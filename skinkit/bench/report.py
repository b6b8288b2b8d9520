"""The `skinkit bench` report: speed-ups from the raw measurements, the goals, the printed table."""

import os

# Goals on the course's 2-core CPU machine (printed, never asserted).
PIPELINE_GOAL = 5.0
TRAIN_MEAN_GOAL = 1.5
TRAIN_EACH_GOAL = 1.3
EPOCH_OVERHEAD_GOAL = 1.1


def goal_checks(report):
    """[(what, value, goal text, met)] for the printed goals."""
    speedups = report["train_speedup"]
    mean = sum(speedups.values()) / len(speedups)
    worst_stage = min(speedups, key=speedups.get)
    return [
        ("pipeline_speedup", report["pipeline_speedup"], f">= {PIPELINE_GOAL}",
         report["pipeline_speedup"] >= PIPELINE_GOAL),
        ("train_speedup mean", mean, f">= {TRAIN_MEAN_GOAL}", mean >= TRAIN_MEAN_GOAL),
        (f"train_speedup min ({worst_stage})", speedups[worst_stage], f">= {TRAIN_EACH_GOAL} each",
         speedups[worst_stage] >= TRAIN_EACH_GOAL),
        ("epoch_overhead", report["epoch_overhead"], f"<= {EPOCH_OVERHEAD_GOAL}",
         report["epoch_overhead"] <= EPOCH_OVERHEAD_GOAL),
    ]


def build_report(pipeline, training, epochs, setup):
    """The JSON-ready results: speed-ups, absolute figures, goals and the measuring setup."""
    by_workers, pure_seconds, n_batches = epochs
    default_workers = setup["default_num_workers"]
    report = {
        "pipeline_speedup": pipeline["kit"] / pipeline["report"],
        "train_speedup": {stage: rates["kit"] / rates["plain"] for stage, rates in training.items()},
        "epoch_overhead": by_workers[default_workers] / pure_seconds,
        "pipeline_img_per_s": pipeline,
        "train_img_per_s": training,
        "epoch_seconds_by_workers": {str(workers): s for workers, s in by_workers.items()},
        "epoch_overhead_by_workers": {str(workers): s / pure_seconds for workers, s in by_workers.items()},
        "epoch_pure_compute_seconds": pure_seconds,
        "epoch_batches": n_batches,
        "setup": setup,
    }
    report["goals"] = {name: {"value": value, "goal": goal, "met": met}
                       for name, value, goal, met in goal_checks(report)}
    return report


def busy_machine_note(setup):
    """A warning line when other work loaded the CPU (timings then swing widely), else None."""
    cores = os.cpu_count() or 1
    before, after = setup["load_average_before"] or 0, setup["load_average_after"] or 0
    if setup["device"] == "cpu" and (before >= 0.5 * cores or after >= 2 * cores):  # the bench's own ~cores
        return (f"  NOTE: load average {before} before, {after} after on {cores} cores: other processes "
                f"shared the CPU, so these timings are noisy; rerun on an idle machine to compare.")
    return None


def format_header(setup):
    """The first lines of the table: where and how it was measured."""
    kit_where = "in the main process" if setup["device"] == "cpu" else f"on {setup['device']}"
    lines = [f"skinkit bench on {setup['device_name']} ({setup['torch_threads']} torch threads, load average "
             f"{setup['load_average_before']} before, {setup['load_average_after']} after), "
             f"data {setup['data']} ({setup['train_images']} training images)",
             busy_machine_note(setup),
             setup.get("freed_memory_kept") and "  glibc malloc keeps freed memory for reuse here "
                                                "(skinkit.training.allocator); only the plain training step "
                                                "runs without it",
             f"Pipeline: oversampled, augmented training batches of {setup['batch_size']} at "
             f"{setup['image_size']} px, num_workers=0 on both sides (same cores); kit augments "
             f"{kit_where}"]
    return [line for line in lines if line]


def format_report(report):
    """The results as a readable table, goals included."""
    setup, pipe = report["setup"], report["pipeline_img_per_s"]
    lines = [*format_header(setup),
             f"  report-style (PNG decode + PIL per sample) {pipe['report']:9.1f} img/s",
             f"  kit (in-memory + BatchAugment)           {pipe['kit']:9.1f} img/s",
             f"Training step: batch {setup['batch_size']}, {setup['image_size']} px, best of "
             f"alternating runs; kit = channels_last in {setup['precision']}, plain = NCHW fp32 in a "
             f"fresh process with the default allocator",
             f"  {'stage':14}{'kit img/s':>11}{'plain img/s':>13}{'speed-up':>10}"]
    for stage, rates in report["train_img_per_s"].items():
        lines.append(f"  {stage:14}{rates['kit']:11.1f}{rates['plain']:13.1f}"
                     f"{report['train_speedup'][stage]:10.2f}")
    lines.append(f"Epoch: small_frozen, {report['epoch_batches']} batches of {setup['batch_size']} "
                 f"(train split cycled), default num_workers={setup['default_num_workers']}")
    for workers, seconds in report["epoch_seconds_by_workers"].items():
        lines.append(f"  real epoch, num_workers={workers}     {seconds:7.2f} s   (overhead "
                     f"{report['epoch_overhead_by_workers'][workers]:.2f})")
    lines.append(f"  pure compute (batches in memory) {report['epoch_pure_compute_seconds']:7.2f} s")
    lines.append("Goals (set for the 2-core CPU course machine):")
    for name, goal in report["goals"].items():
        lines.append(f"  {name:32}{goal['value']:7.2f}  goal {goal['goal']:12} "
                     f"{'met' if goal['met'] else 'NOT met'}")
    return "\n".join(lines)
