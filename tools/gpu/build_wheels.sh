#!/usr/bin/env bash
# Run HERE (not on the GPU machine): put what the GPU machine lacks into .whl/ and .gpu/.
#
# The device machine has Python 3.12 with torch (CUDA), numpy, pandas, scipy, matplotlib
# and tqdm. sedlib also needs soundfile, soxr and sed_scores_eval (+ lazy_dataset, einops)
# at run time; it runs from the repository itself (PYTHONPATH). sed_scores_eval has no
# wheel on PyPI: it is built here for CPython 3.12. The TUT event metadata (for
# synthetic-tut-timeline) goes to .gpu/tut-meta. Both folders are git-ignored and travel
# with `carry: [".whl", ".gpu"]`; together they must stay under the 64 MiB of a call.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY312="${PY312:-$(ls /root/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | head -1)}"
PY312="${PY312:-python3.12}"
command -v "$PY312" >/dev/null || { echo "PY312=$PY312 is not a command: set PY312 to a Python 3.12" >&2; exit 2; }
rm -rf .whl && mkdir -p .whl .gpu
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
for requirement in soundfile==0.14.0 soxr==1.1.0 lazy_dataset einops; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .whl "$requirement"
done
"$PY312" -m pip wheel -q --no-deps -w .whl sed_scores_eval==0.0.4
meta="${SEDLIB_TUT_META:-../shared/data/tut-meta}"
if [[ -f "$meta/meta/meta_development.txt" ]]; then
  rm -rf .gpu/tut-meta && mkdir -p .gpu/tut-meta && cp -r "$meta/meta" "$meta/crossvaridation" .gpu/tut-meta/
else
  echo "no TUT metadata at $meta: run \`sedlib data tut --meta-only\` and set SEDLIB_TUT_META" >&2
fi
ls -la .whl
size=$(du -sm .whl .gpu | awk '{s += $1} END {print s}')
echo "carry .whl and .gpu: ${size} MiB (limit 64)"
(( size < 60 )) || { echo "too large to carry" >&2; exit 1; }
