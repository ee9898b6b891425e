#!/usr/bin/env bash
# The Lambda function's code, build/lambda.zip: the slim install (`pip install .`) for the
# function's runtime (python3.12 on Amazon Linux 2023, glibc 2.34) and architecture (x86_64),
# from binary wheels only, so any machine with Python 3.11+ and pip can build it.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
target_python=${LAMBDA_PYTHON_VERSION:-3.12}
# Wheels for glibc 2.17 and later up to the runtime's 2.34 (pip does not widen one tag itself).
platforms=(${LAMBDA_PLATFORMS:-manylinux2014_x86_64 manylinux_2_28_x86_64 manylinux_2_34_x86_64})

rm -rf build/lambda build/lambda.zip build/dist
# The project itself, as a wheel (it is pure Python).
"$python" -m pip wheel --quiet --no-deps --wheel-dir build/dist .
# The lock's production set (pinned, hash-checked), then the project's wheel without resolving
# anything: the same versions as CI and the container.
"$python" -m pip install --quiet --target build/lambda \
  "${platforms[@]/#/--platform=}" --implementation cp --python-version "$target_python" \
  --only-binary=:all: --require-hashes --no-deps -r requirements/runtime.txt
"$python" -m pip install --quiet --target build/lambda --no-deps build/dist/*.whl
# Byte-code compiled by another Python than the runtime's is of no use to it: left out (the
# runtime, which cannot write to its code, then compiles at each cold start: build with
# python3.12 to ship it compiled).
building=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$building" != "$target_python" ]; then
  find build/lambda -name __pycache__ -type d -prune -exec rm -rf {} +
fi
(cd build/lambda && "$python" -m zipfile -c ../lambda.zip ./*)
echo "build/lambda.zip: $(du -h build/lambda.zip | cut -f1) zipped, $(du -sh build/lambda | cut -f1) unzipped"
