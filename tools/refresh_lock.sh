#!/usr/bin/env bash
# Refresh constraints.txt: the exact versions CI and the README's test command install.
# Installs the newest releases that pyproject.toml's ranges allow (every extra CI uses) into a
# fresh virtualenv, runs the suite with them, and writes the lock only when it passes.
#   bash tools/refresh_lock.sh            # then review `git diff constraints.txt` and commit
# The tests need Graphviz's dot program (apt-get install graphviz); the test extra holds matplotlib.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dot >/dev/null || { echo "install Graphviz first (the tests run its dot program)" >&2; exit 1; }
extras="test,lint"
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet ".[$extras]"
"$venv/bin/python" -m pytest -q -p no:cacheprovider
py="$("$venv/bin/python" -c 'import platform; print(platform.python_implementation(), platform.python_version())')"
{
    echo "# The versions the suite last passed with: pip install -c constraints.txt '.[$extras]'"
    echo "# Made by tools/refresh_lock.sh on $(date -u +%Y-%m-%d) with $py on $(uname -sm)."
    echo "# Made for that Python and platform (mypy and librt ship compiled wheels); users'"
    echo "# 'pip install cnncalc' takes the ranges in pyproject.toml instead."
    "$venv/bin/python" -m pip freeze --exclude cnncalc --exclude pip --exclude setuptools
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) pins)"
