# One image for every telesniff process: the operator, the listeners it starts, the
# consumers and the gateways. The entrypoint is the `telesniff` command:
#
#   docker build -t telesniff .
#   docker run --rm telesniff --version
#   docker run --rm -p 8000:8000 telesniff dev --host 0.0.0.0
#
# BASE_IMAGE must provide `python3` (3.11 or newer) with the `venv` module; no user
# account is needed, the image runs as the numeric uid/gid 10001. The default is the
# official slim image; scripts/image/build.sh builds with a Debian base made locally with
# debootstrap when no registry is reachable.
#
# If pip must trust an extra CA (a TLS-intercepting proxy), pass it as a build secret:
# `--secret id=pip-ca,src=/path/to/ca-bundle.crt`. It is used by the build stage only and
# never lands in an image layer.

ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------
# build: a virtualenv with the dependencies, then the project's wheel.
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_DEFAULT_TIMEOUT=180 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/telesniff

# Dependencies first, from pyproject.toml alone, so that editing the source does not
# reinstall them.
COPY pyproject.toml /src/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && python3 -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
        /src/pyproject.toml > /tmp/requirements.txt \
 && /opt/telesniff/bin/pip install --upgrade pip \
 && /opt/telesniff/bin/pip install -r /tmp/requirements.txt

# The project itself: build a wheel, install it without touching the dependencies.
# .dockerignore lets in only pyproject.toml, README.md, LICENSE and src/.
COPY . /src
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && /opt/telesniff/bin/pip wheel --no-deps --wheel-dir /dist /src \
 && /opt/telesniff/bin/pip install --no-deps --no-cache-dir /dist/telesniff-*.whl \
 && /opt/telesniff/bin/pip check \
 && /opt/telesniff/bin/pip uninstall --yes pip \
 && /opt/telesniff/bin/telesniff --help >/dev/null

# ---------------------------------------------------------------------------------------
# final: the base image plus the virtualenv; nothing to build with, no pip.
FROM ${BASE_IMAGE}

ARG VERSION=dev
LABEL org.opencontainers.image.title="telesniff" \
      org.opencontainers.image.description="Watch Telegram chats in real time and stream what matters." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /opt/telesniff /opt/telesniff

# The data directory (embedded Valkey, SQLite for `telesniff dev`) is writable by the
# runtime user; everything else is read-only in the cluster.
RUN mkdir -p /var/lib/telesniff \
 && chown 10001:10001 /var/lib/telesniff \
 && chmod 0750 /var/lib/telesniff

ENV PATH=/opt/telesniff/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    TELESNIFF_DATA_DIR=/var/lib/telesniff

WORKDIR /var/lib/telesniff
USER 10001:10001
EXPOSE 8000 9100 9443
ENTRYPOINT ["telesniff"]
CMD ["--help"]
