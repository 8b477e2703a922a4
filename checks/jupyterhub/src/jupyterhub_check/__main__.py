"""python -m jupyterhub_check <jupyterhub_config.py>: the result as one JSON document on stdout.

{"problems": [{"setting", "message"}], "env": [names], "spawned": [{"profile", "pod", "pvc", "url"}]}.
Exit code 0 whether or not there are problems (the caller judges them), 2 on a usage error.
"""

import dataclasses
import json
import sys

from .check import check


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m jupyterhub_check <jupyterhub_config.py>", file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(check(argv[0]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
