"""The ``lecture9`` command line: ``python -m lecture9 <command> ...``.

Commands:

``assign``
    Write student notebooks without solutions (:mod:`lecture9.assign`, for instructors).
``train-vae``
    Train a VAE on binarized digits or MNIST (:mod:`lecture9.training`, chapter 9).

Each command lives in its own module, which provides ``configure_parser(parser)``
(adds its arguments) and ``run(args) -> int`` (does the work, returns the exit
code). Only the module of the command being run is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: command name -> (module, one-line help)
COMMANDS = {
    "assign": ("lecture9.assign", "write student notebooks without solutions (for instructors)"),
    "train-vae": ("lecture9.training", "train a VAE and write a checkpoint and a metrics JSON"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; the arguments of ``command`` (if given) are added from its module."""
    parser = argparse.ArgumentParser(
        prog="python -m lecture9",
        description="Command line of the lecture9 course package.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            sub_parser.description = (module.__doc__ or help_text).strip().split("\n\n")[0]
            module.configure_parser(sub_parser)
            sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
