#!/usr/bin/env bash
# The Threshold slider on a run with 2,000 test pictures, before and after, one after the other on this machine:
# tests/app/measure_threshold.py (the core's answer, the slider's fragment, the whole page through AppTest) and
# bench/load_app.py --test-pictures 2000 (browsers: 1 user, then 5 at once). "Before" is REV (default: the last
# commit before the one-answer slider) checked out in a temporary worktree with today's two benchmark scripts;
# "after" is this checkout. Results in bench/results/slider-{measure,load}-{before,after}.*; run it on an idle
# machine (the load average is written beside every figure).
#
#     bench/slider_before_after.sh [REV]
set -euo pipefail
BEFORE_REV=${1:-47b1951}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON="$ROOT/.venv/bin/python"
OUT="$ROOT/bench/results"
TMP=$(mktemp -d)
cleanup() {
    git -C "$ROOT" worktree remove --force "$TMP/before" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$OUT"
git -C "$ROOT" worktree add --detach "$TMP/before" "$BEFORE_REV" >/dev/null
cp "$ROOT/bench/load_app.py" "$ROOT/bench/synthetic_run.py" "$TMP/before/bench/"
cp "$ROOT/tests/app/measure_threshold.py" "$TMP/before/tests/app/"
ln -s "$(readlink -f "$ROOT/.venv")" "$TMP/before/.venv"
for side in before after; do
    dir="$ROOT"
    [ "$side" = before ] && dir="$TMP/before"
    echo "== $side ($dir), load average $(cut -d' ' -f1 /proc/loadavg)"
    (cd "$dir" && PYTHONPATH="$dir" "$PYTHON" tests/app/measure_threshold.py) | tee "$OUT/slider-measure-$side.txt"
    (cd "$dir" && PYTHONPATH="$dir" "$PYTHON" bench/load_app.py --test-pictures 2000 --sessions 5 \
        --out "$OUT/slider-load-$side.json") | tail -n 60
done
