"""Every benchmark, one after the other: `uv run python -m bench [--size smoke|full]`.

Each runs as its own process (as `python -m bench.NAME` would), so one cannot disturb the next; their tables
stream through, and the verdict lines are repeated at the end. Exit 1 when any benchmark could not measure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

BENCHMARKS = ("receiver_load", "pipeline", "api_calls", "tokens", "scale", "install")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=("smoke", "full"), default="full")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this one (repeatable)")
    args = p.parse_args(argv)
    verdicts, failed = [], []
    for name in args.only or BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}", "--size", args.size],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("verdict "):
                verdicts.append(line.rstrip())
        if proc.wait() != 0:
            failed.append(name)
    print("\n## verdicts\n")
    print("\n".join(verdicts))
    if failed:
        print(f"could not measure: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
