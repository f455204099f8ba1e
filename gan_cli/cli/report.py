"""gan-report: one table for a sweep, a row per job, best first (gan_cli.runs.sweep_summary)."""

from __future__ import annotations

import argparse

from gan_cli.cli.command_options import REPORT_OPTIONS, report_help
from gan_cli.cli.wrapper import run_command
from gan_cli.errors import UserError
from gan_cli.options import check_value, unknown_key_error
from gan_cli.runs.sweep_summary import to_markdown, write_summary


def parse_options(options: list[str]) -> dict[str, str]:
    """KEY=VALUE arguments, each a key of REPORT_OPTIONS with a valid value."""
    parsed = {}
    for option in options:
        key, equals, value = option.partition("=")
        if not equals:
            raise UserError(f"{option} is not KEY=VALUE; gan-report takes a sweep folder and then "
                            f"sort_by=METRIC or order=asc|desc.")
        if key not in REPORT_OPTIONS:
            raise unknown_key_error(key, "gan-report", REPORT_OPTIONS)
        check_value(REPORT_OPTIONS[key], value)
        parsed[key] = value
    return parsed


def report(path: str, options: list[str]) -> None:
    summary = write_summary(path, **parse_options(options))
    print(to_markdown(summary))
    print(f"wrote {summary.csv_path} and {summary.markdown_path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="gan-report",
        description="Summarize a sweep of gan-train jobs: summary.csv and summary.md in its folder, "
                    "one row per job, best first; the table is also printed.",
        epilog=f"keys (KEY=VALUE):\n{report_help()}\n\n"
               "example: gan-report multirun/2024-05-01/10-00-00 sort_by=loss/d order=desc",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", help="a sweep's folder (multirun/<date>/<time>, or hydra.sweep.dir)")
    parser.add_argument("options", nargs="*", metavar="KEY=VALUE", help="sort_by=METRIC, order=asc|desc (below)")
    args = parser.parse_args(argv)
    run_command(lambda: report(args.path, args.options))


if __name__ == "__main__":
    main()
