# The API as a long-lived server, for what Lambda cannot do: subscriptions over WebSockets and
# the deployment worker. Multi-stage: the build stage makes a virtualenv with the slim install,
# the final stage is the Python base, that virtualenv and nothing else, run as a non-root user.
# See "Containers" in README.md.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python3 -m venv /opt/venv
# The lock's production set first (every version pinned, every wheel's hash checked), then the
# project itself without resolving anything: the same versions as CI and the Lambda build.
COPY requirements/runtime.txt ./requirements/
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY server ./server
RUN /opt/venv/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE}
RUN useradd --no-log-init --uid 10001 --no-create-home --shell /usr/sbin/nologin api
COPY --from=build /opt/venv /opt/venv
# The real store and the real authentication: COGNITO_REGION, COGNITO_USER_POOL_ID and
# COGNITO_CLIENT_IDS must be given at run time (the server stops at start, naming them, if not).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STORE=dynamodb \
    AUTH_MODE=cognito \
    PORT=8000
USER 10001
EXPOSE 8000
# Liveness: /healthz answers without calling DynamoDB (load balancers should probe /readyz).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"]
# exec: the server is PID 1 and gets the SIGTERM that stops the container, to finish its
# requests and close its WebSockets.
CMD ["sh", "-c", "exec python -m server serve --host 0.0.0.0 --port \"$PORT\""]
