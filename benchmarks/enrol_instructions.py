"""Instructions per browser enrolment, counted by valgrind's callgrind: a figure that does
not move with the machine's load, for A/B comparisons on a shared, noisy machine.

    # this checkout against another one (a git worktree of the commit before a change):
    git worktree add /tmp/before <commit> && ln -s "$PWD/.venv" /tmp/before/.venv
    .venv/bin/python benchmarks/enrol_instructions.py --baseline /tmp/before \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/load_instr \\
        --redis-url redis://127.0.0.1:6379/8

Each checkout's enrol_steps.py runs twice under callgrind on the same database (built
once first, as load.py builds it; later runs reuse it), with 1 and with 1 + --count
timed enrolments; the difference of the two totals over --count is what one enrolment
costs, the app's start-up and warm-up cancelled out. The four runs go two at a time.
Counted: every instruction of the enrolling process (the test client's share and the
audit appender's thread included; the PostgreSQL server's, not). Printed: millions of
instructions per enrolment for each checkout and their ratio. callgrind runs Python
about 50 times slower: about 3 minutes for the default --count 10 on 2 cores.
Repeated runs of one checkout agreed within about 2% here (the start-up's count varies
by some 15 million instructions between runs: that, over --count, is the error).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/load_instr"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True,
                        help="another checkout (with its .venv) to compare this one with")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args(argv)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is needed (Debian: apt-get install valgrind)")
    this = HERE.parent
    checkouts = {"baseline": args.baseline.resolve(), "this": this}
    for name, root in checkouts.items():
        if not (root / "benchmarks" / "enrol_steps.py").exists():
            raise SystemExit(f"{name}: no benchmarks/enrol_steps.py under {root}")
    common = ["--database-url", args.database_url, "--redis-url", args.redis_url]
    # The database, built once by this checkout (load.py's way); every counted run reuses it.
    subprocess.run([sys.executable, str(HERE / "enrol_steps.py"), *common,  # noqa: S603
                    "--count", "1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = Path(tempfile.mkdtemp(prefix="enrol-instructions-"))
    try:
        def counted(job: tuple[str, int]) -> int:
            name, count = job
            root = checkouts[name]
            out = tmp / f"{name}-{count}.out"
            done = subprocess.run(  # noqa: S603 - valgrind, the checkouts' own Python
                [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                 str(root / ".venv" / "bin" / "python"), str(root / "benchmarks" /
                                                            "enrol_steps.py"),
                 *common, "--count", str(count), "--reuse"],
                cwd=root, capture_output=True, text=True, check=False)
            found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
            if done.returncode != 0 or found is None:
                raise SystemExit(f"{name}, {count} enrolments:\n{done.stdout[-2000:]}"
                                 f"{done.stderr[-2000:]}")
            return int(found.group(1).replace(",", ""))

        jobs = [(name, count) for name in checkouts for count in (1, 1 + args.count)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            totals = dict(zip(jobs, pool.map(counted, jobs), strict=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per = {name: (totals[(name, 1 + args.count)] - totals[(name, 1)]) / args.count / 1e6
           for name in checkouts}
    print(f"{'checkout':<10} {'M instructions / enrolment':>28}")
    for name, root in checkouts.items():
        print(f"{name:<10} {per[name]:>28.1f}  ({root})")
    print(f"this / baseline: {per['this'] / per['baseline']:.3f} "
          f"({args.count} enrolments each, start-up subtracted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
