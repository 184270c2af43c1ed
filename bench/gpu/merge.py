"""File benchmark results that came back from the GPU machine: each JSON into bench/gpu/results/
and its Markdown section into bench/RESULTS.md (rendered again from the JSON, so the section is
the one the run printed; an earlier section of the same workload and variant is replaced).

    python bench/gpu/merge.py /work/.device/.../gpt2-default.json /work/.device/.../resnet50-default.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path, help="result JSON files written by gpt2.py / resnet50.py")
    ap.add_argument("--results-dir", type=Path, default=common.RESULTS_DIR)
    ap.add_argument("--results-md", type=Path, default=common.RESULTS_MD)
    args = ap.parse_args()
    for path in args.files:
        result = json.loads(path.read_text(encoding="utf-8"))
        md = common.markdown_section(result, result["command"])
        written = common.write_results(result, md, args.results_dir, args.results_md)
        print(f"{path.name}: {', '.join(str(w) for w in written)}")


if __name__ == "__main__":
    main()
