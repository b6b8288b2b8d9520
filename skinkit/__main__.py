"""Command line: `python -m skinkit download | prepare | train | grade | bench | export | demo | predict`."""

# The parser is built without PyTorch: `grade`, `predict --onnx` and every --help start in a
# moment. Commands that train or export import it in their handlers (tests/test_startup.py).
import argparse
import dataclasses
import sys
from pathlib import Path

from .data.download import BASE_URL, DEFAULT_OUT, download
from .data.ham10000 import HAM10000_IMAGES
from .data.prepare import PRESETS, prepare
from .deployment import cli as deployment
from .errors import KitError, one_line
from .grading import cli as grading
from .training.recipes import IMAGE_SIZE, PRECISIONS, RECIPES, SELECTION_RULES


def download_command(args):
    """Fetch the ISIC 2018 release of HAM10000 into --out (verified files are kept)."""
    record = download(args.out, mirror=args.mirror)
    print(f"{record['images']} images ready in {args.out} (sizes and sha256 in download.json)")
    if not args.no_next_step:
        print(f"next: python -m skinkit prepare --ham10000 {args.out} --out data/course")
    return 0


def release_size_line(ham10000, images):
    """How many images the HAM10000 release held, with a warning when it is not the full release."""
    if images == HAM10000_IMAGES:
        return f"{ham10000}: the full HAM10000 release ({images:,} images)"
    return (f"{ham10000}: {images:,} images, not the full release's {HAM10000_IMAGES:,}; the splits are "
            f"drawn from what is there (some classes may be short)")


def prepare_command(args):
    """Build a course-format dataset from a HAM10000 download."""
    manifest = prepare(args.ham10000, args.out, size=args.size, seed=args.seed, preset=args.preset)
    counts = manifest.groupby(["split", "dx"], observed=True).size().unstack(fill_value=0)
    print(release_size_line(args.ham10000, manifest.attrs["release_images"]))
    print(counts.to_string())
    print(f"Wrote {len(manifest)} images and manifest.csv to {args.out}")
    if "sex" not in manifest:
        print("The source has no age, sex or body site, so neither has manifest.csv: notebook 08 will "
              "skip its subgroup tables.")
    return 0


def train_command(args):
    """Run one training stage into its run folder (resumes an interrupted run)."""
    from .reporting.stage_reading import summary
    from .training.stage import run_stage
    recipe = RECIPES[args.stage]
    if args.epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    if args.select_by is not None:
        recipe = dataclasses.replace(recipe, select_by=args.select_by)
    result = run_stage(recipe, args.data, args.runs, seed=args.seed, image_size=args.image_size,
                       pretrained=PRETRAINED_CHOICES[args.pretrained], resume=not args.no_resume,
                       device=args.device, num_workers=args.num_workers, precision=args.precision)
    print(summary(result))
    print(f"run folder: {result.run_dir}")
    return 0


# --pretrained: use the ImageNet weights when they load (auto), require them (true), or skip them (false).
PRETRAINED_CHOICES = {"auto": "auto", "true": True, "false": False}


def add_train_arguments(parser):
    """Arguments of `skinkit train`."""
    parser.add_argument("--stage", required=True, choices=sorted(RECIPES))
    parser.add_argument("--data", required=True, help="course-format dataset (train/ and val/)")
    parser.add_argument("--runs", default="runs", help="run folder root (default: runs)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--select-by", choices=SELECTION_RULES,
                        help="validation score that picks the kept epoch (default: balanced_accuracy; "
                             "accuracy is the project report's rule)")
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE,
                        help=f"crop size in pixels (default {IMAGE_SIZE}, the ImageNet weights' own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pretrained", type=str.lower, choices=PRETRAINED_CHOICES, default="auto",
                        help="ImageNet weights: auto (when they load), true (required) or false (random init)")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--num-workers", type=int, help="DataLoader workers (default: per device)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="number format (default auto: fp16 on V100/T4-class GPUs, else fp32; see docs/gpus.md)")
    parser.add_argument("--no-resume", action="store_true", help="start over (the old run is kept aside)")


def add_bench_arguments(parser):
    """Arguments of `skinkit bench`."""
    parser.add_argument("--json", action="store_true", help="end with the results as one JSON line")
    parser.add_argument("--data", type=Path, help="course-format dataset with train/ "
                                                  "(default: the bundled data/sample)")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # tiny sizes, for tests


def bench_command(args):
    """Measure the kit's speed-ups and print the report (skinkit.bench)."""
    from .bench.cli import run
    return run(args)


def build_parser():
    """The `skinkit` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m skinkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="fetch HAM10000 (ISIC 2018 release, about 2.6 GB)")
    fetch.add_argument("--out", default=DEFAULT_OUT, help=f"download folder (default {DEFAULT_OUT})")
    fetch.add_argument("--mirror", help=f"base URL of a copy of the files (default {BASE_URL})")
    fetch.add_argument("--no-next-step", action="store_true",
                       help="do not print the prepare command (make data runs it itself)")
    fetch.set_defaults(handler=download_command)
    prep = commands.add_parser("prepare", help="build a course-format dataset from HAM10000")
    prep.add_argument("--ham10000", required=True, help="HAM10000_metadata.csv + images/ folder, or a download folder")
    prep.add_argument("--out", required=True, help="new folder to create")
    prep.add_argument("--size", type=int, default=300, help="square image side in pixels (default 300)")
    prep.add_argument("--seed", type=int, default=0)
    prep.add_argument("--preset", choices=[*PRESETS, "all-test"], default="course")
    prep.set_defaults(handler=prepare_command)
    train = commands.add_parser("train", help="run one training stage into its run folder")
    add_train_arguments(train)
    train.set_defaults(handler=train_command)
    grade = commands.add_parser("grade", help="grade confusion matrices against a reference")
    grading.add_arguments(grade)
    grade.set_defaults(handler=grading.run)
    speed = commands.add_parser("bench", help="measure pipeline and training-step speed-ups")
    add_bench_arguments(speed)
    speed.set_defaults(handler=bench_command)
    deployment.add_commands(commands)
    return parser


def main(argv=None):
    """Entry point of `python -m skinkit` and the `skinkit` script; expected errors: one line, exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KitError as error:
        print(f"{args.command}: {one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
