#!/usr/bin/env python3
"""Write docs/layers.md from cnncalc's layer registry (`--check`: exit 1 if it is not current).

    python tools/gen_layer_docs.py          # rewrite docs/layers.md
    python tools/gen_layer_docs.py --check  # compare only
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.layers.docs import markdown  # noqa: E402

TARGET = ROOT / "docs" / "layers.md"


def main(argv: list[str]) -> int:
    text = markdown()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is not current: run python tools/gen_layer_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
