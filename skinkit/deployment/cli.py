"""The `export`, `demo` and `predict` commands of `python -m skinkit`.

Only `export` (and `predict` with a stage model) needs PyTorch; it is imported there, so that
`predict --onnx`, `demo` and the other commands start without it.
"""

import json
import sys

from ..errors import one_line
from ..training.recipes import RECIPES
from .predict import PhotoError, answer_line, answer_photo, disclaimer, load_classifier, photo_paths


def add_export_arguments(parser):
    """Arguments of `skinkit export`."""
    parser.add_argument("--stage", required=True, choices=sorted(RECIPES))
    parser.add_argument("--runs", default="runs", help="run folder root (default: runs)")
    parser.add_argument("--out", help="folder for the files (default: <runs>/export/<stage>)")
    parser.add_argument("--data", help="the dataset the stage was trained on (default: the one in its config.json)")
    parser.add_argument("--try-all", action="store_true",
                        help="measure every int8 candidate, not only up to the first good enough")


def run_export(args):
    """Export a finished stage to ONNX fp32 and int8, check both, and summarise export.json."""
    from .export import export_stage
    from .report import export_summary
    record = export_stage(args.runs, args.stage, args.out, args.data, try_all=args.try_all)
    print("\n".join(export_summary(record)))
    return 0


def add_demo_arguments(parser):
    """Arguments of `skinkit demo`."""
    parser.add_argument("--stage", default="small_finetune", choices=sorted(RECIPES),
                        help="the exported stage to put on the page (default: small_finetune)")
    parser.add_argument("--runs", default="runs", help="run folder root (default: runs)")
    parser.add_argument("--out", help="folder for the site (default: <runs>/demo/<stage>)")
    parser.add_argument("--serve", action="store_true", help="serve the site on the local network until Ctrl-C")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (default: 8000)")


def run_demo(args):
    """Write the demo site of an exported stage; with --serve, serve it and say where to open it."""
    from .demo import build_site, network_address, server
    site = build_site(args.runs, args.stage, args.out)
    print(f"demo site of {args.stage} written to {site}")
    if not args.serve:
        print(f"serve it with: python -m skinkit demo --stage {args.stage} --runs {args.runs} --serve")
        return 0
    with server(site, port=args.port) as httpd:
        port = httpd.server_address[1]
        print(f"open http://{network_address()}:{port}/ on a phone on the same Wi-Fi "
              f"(or http://localhost:{port}/ here); Ctrl-C stops", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
    return 0


def add_predict_arguments(parser):
    """Arguments of `skinkit predict`."""
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="photos (JPEG or PNG, RGB or gray, any size), or folders of them")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--stage", default="small_finetune", choices=sorted(RECIPES),
                       help="PyTorch model of this finished stage (default: small_finetune)")
    model.add_argument("--onnx", help="an exported model file (model.onnx or model.int8.onnx) instead")
    parser.add_argument("--runs", default="runs", help="run folder root (default: runs)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line and photo")


def run_predict(args):
    """One line per photo: top class and prediction set, or a refusal; bad files: one line each, exit 2."""
    classifier = load_classifier(args.runs, args.stage, args.onnx)
    print(disclaimer(classifier), file=sys.stderr if args.json else sys.stdout)
    failed = 0
    for path in photo_paths(args.images):
        try:
            answer = answer_photo(classifier, path)
            print(json.dumps(answer) if args.json else answer_line(answer), flush=True)
        except PhotoError as error:  # the other photos are still predicted
            print(f"predict: {one_line(error)}", file=sys.stderr, flush=True)
            failed += 1
    return 2 if failed else 0


COMMANDS = (("export", "a finished stage as ONNX fp32 and int8, checked", add_export_arguments, run_export),
            ("demo", "an exported model as a web page that runs in the browser", add_demo_arguments, run_demo),
            ("predict", "classify photos with a trained or exported model", add_predict_arguments, run_predict))


def add_commands(commands):
    """Register `export` and `predict` on the sub-command parser of `python -m skinkit`."""
    for name, help_text, add_arguments, run in COMMANDS:
        parser = commands.add_parser(name, help=help_text)
        add_arguments(parser)
        parser.set_defaults(handler=run)
