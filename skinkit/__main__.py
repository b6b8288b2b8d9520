"""Command line: `python -m skinkit prepare | train | grade | bench`."""

import argparse
import dataclasses
import sys

from . import bench, grading
from .errors import KitError, one_line
from .prepare import PRESETS, PrepareError, prepare
from .recipes import RECIPES
from .stage import run_stage


def prepare_command(args):
    """Build a course-format dataset from a HAM10000 download."""
    try:
        manifest = prepare(args.ham10000, args.out, size=args.size, seed=args.seed, preset=args.preset)
    except PrepareError as error:
        print(f"prepare: {error}", file=sys.stderr)
        return 2
    counts = manifest.groupby(["split", "dx"], observed=True).size().unstack(fill_value=0)
    print(counts.to_string())
    print(f"Wrote {len(manifest)} images and manifest.csv to {args.out}")
    return 0


def train_command(args):
    """Run one training stage into its run folder (resumes an interrupted run)."""
    recipe = RECIPES[args.stage]
    if args.epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    result = run_stage(recipe, args.data, args.runs, seed=args.seed, image_size=args.image_size,
                       pretrained=args.pretrained, resume=not args.no_resume, device=args.device,
                       num_workers=args.num_workers)
    print(f"{args.stage}: balanced accuracy {result.metrics['balanced_accuracy']:.3f} -> {result.run_dir}")
    return 0


def pretrained_choice(text):
    """argparse type for --pretrained: auto, true or false."""
    return {"auto": "auto", "true": True, "false": False}[text.lower()]


def add_train_arguments(parser):
    """Arguments of `skinkit train`."""
    parser.add_argument("--stage", required=True, choices=sorted(RECIPES))
    parser.add_argument("--data", required=True, help="course-format dataset (train/ and val/)")
    parser.add_argument("--runs", default="runs", help="run folder root (default: runs)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--image-size", type=int, help="crop size (default: the weights' 224)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pretrained", type=pretrained_choice, default="auto", help="auto|true|false")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--num-workers", type=int, help="DataLoader workers (default: per device)")
    parser.add_argument("--no-resume", action="store_true", help="start over (the old run is kept aside)")


def build_parser():
    """The `skinkit` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m skinkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="build a course-format dataset from HAM10000")
    prep.add_argument("--ham10000", required=True, help="folder with HAM10000_metadata.csv and images/")
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
    bench.add_arguments(speed)
    speed.set_defaults(handler=bench.run)
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
