#!/usr/bin/env bash
# Builds the Dockerfile's image with podman and smoke-tests it against a moto server on this
# machine's loopback: it starts as a non-root user in cognito mode, /healthz and /readyz answer,
# its HEALTHCHECK passes, and /graphql refuses a caller without a token. `.ci/run` runs it where
# podman is installed (Debian: apt-get install podman runc debootstrap).
#
# The base image is PYTHON_IMAGE when given (pulled if missing); otherwise, since no container
# registry may be reachable, one made here once from Debian's packages (debootstrap: Debian's
# python3, where the default base has python.org's). The build runs offline, from wheels of the
# project's dependencies made here by pip.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-.venv/bin/python}
base=${PYTHON_IMAGE:-localhost/multi-agent-api-base:bookworm}
image=localhost/multi-agent-api:smoke
container=multi-agent-api-smoke-$$
work=$(mktemp -d)
moto_pid=

cleanup() {
  podman rm --force --ignore "$container" >/dev/null 2>&1 || true
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Where crun cannot run containers (cgroups v1 and v2 mixed) and no container may raise its
# limits (as on this project's machines), runc with limits it may set does.
runtime=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
if command -v runc >/dev/null 2>&1; then runtime+=(--runtime runc); fi

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if ! podman image exists "$base"; then
  if [ -n "${PYTHON_IMAGE:-}" ]; then
    podman pull "$base"
  else
    echo "smoke: making $base from Debian's packages (once)"
    rootfs="$work/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["python3"]' - "$base" >/dev/null
    rm -rf "$rootfs"
  fi
fi

echo "smoke: wheels of the project and its dependencies"
"$python" -m pip wheel --quiet --wheel-dir "$work/wheels" . "setuptools>=69" 2>"$work/pip.log" \
  || { cat "$work/pip.log"; exit 1; }
printf '[global]\nno-index = true\nfind-links = /wheels\n' >"$work/pip.conf"

echo "smoke: building $image on $base"
podman build "${runtime[@]}" --quiet --format docker --network none \
  --build-arg PYTHON_IMAGE="$base" \
  --volume "$work/wheels:/wheels:ro" --volume "$work/pip.conf:/etc/pip.conf:ro" \
  --tag "$image" . >/dev/null

moto_port=$(free_port)
"$python" -m moto.server -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
export AWS_ACCESS_KEY_ID=smoke AWS_SECRET_ACCESS_KEY=smoke AWS_REGION=us-east-1
export DYNAMODB_ENDPOINT_URL="http://127.0.0.1:$moto_port" TABLE_PREFIX=smoke-
for _ in $(seq 50); do
  if STORE=dynamodb "$python" -m server create-tables >/dev/null 2>&1; then break; fi
  sleep 0.2
done

port=$(free_port)
# Host networking: the container reaches the moto server on the loopback, and is reached there.
# The JWKS URL is on the loopback too (nothing answers: the server starts and says so). Without
# systemd, podman says it cannot time the HEALTHCHECK: it is run by hand below.
podman run "${runtime[@]}" --detach --name "$container" --network host \
  --env PORT="$port" --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY --env AWS_REGION \
  --env DYNAMODB_ENDPOINT_URL --env TABLE_PREFIX \
  --env COGNITO_REGION=eu-west-1 --env COGNITO_USER_POOL_ID=eu-west-1_Smoke \
  --env COGNITO_CLIENT_IDS=smoke-client \
  --env COGNITO_JWKS_URL="http://127.0.0.1:$(free_port)/.well-known/jwks.json" \
  "$image" >/dev/null 2>"$work/run.log" || { cat "$work/run.log"; exit 1; }

if ! "$python" - "$port" <<'EOF'; then
import json, sys, time, urllib.error, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"

def get(path, data=None):
    request = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

deadline = time.monotonic() + 60
while True:
    try:
        status, body = get("/healthz")
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("smoke: the server did not answer /healthz within 60 s")
        time.sleep(0.25)
assert (status, body) == (200, {"status": "ok"}), (status, body)
status, body = get("/readyz")
assert (status, body) == (200, {"status": "ready"}), (status, body)
status, body = get("/graphql", json.dumps({"query": "{ viewer { userId } }"}).encode())
assert status == 200, (status, body)
assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
print("smoke: /healthz, /readyz and an unauthenticated /graphql answer as they should")
EOF
  podman logs "$container" | tail -20
  exit 1
fi

podman healthcheck run "$container"
uid=$(podman exec "$container" python -c 'import os; print(os.getuid())')
[ "$uid" != 0 ] || { echo "smoke: the server runs as root"; exit 1; }
echo "smoke: ok (HEALTHCHECK healthy, user $uid)"
