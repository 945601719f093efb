#!/usr/bin/env bash
# Creates .venv-bench (repo root) with anomalib 2.7 for the side-by-side benchmark, plus the project itself.
# Usage: bash bench/setup.sh        (PYTHON=python3.11 by default; re-running updates the environment)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv-bench}"

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade pip >/dev/null
# The product's pins first, then the benchmark's (they agree on torch, timm, numpy...), in one resolve.
"$VENV/bin/python" -m pip install -r requirements.txt -r bench/requirements.txt
if [ -f pyproject.toml ]; then
  "$VENV/bin/python" -m pip install --no-deps -e .
else
  echo "pyproject.toml missing: bench/run.py puts the repo root on PYTHONPATH for hamacho_core instead"
fi
"$VENV/bin/python" - <<'PY'
import anomalib, hamacho_core, timm, torch
print(f"ok: anomalib {anomalib.__version__}, timm {timm.__version__}, torch {torch.__version__}, hamacho_core from {hamacho_core.__file__}")
PY
echo "Run: $VENV/bin/python bench/run.py --datasets battery_weld"
