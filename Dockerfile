# syntax=docker/dockerfile:1
# ztoq's runtime image: the package built from this source tree on a slim Python base, run by an
# unprivileged user. Chromium is not in it (only the report browser tests need one), and neither
# is any secret: tokens and passwords come from the environment at run time
# (config/run-migration.sh, docker-compose.yml).
#
#   docker build -t ztoq .
#   docker run --rm -v "$PWD/config:/ztoq/config:ro" -v "$PWD/ztoq-data:/ztoq/data" \
#       -e ZTOQ_ZEPHYR_API_TOKEN -e ZTOQ_QTEST_BEARER_TOKEN ztoq migrate run --config /ztoq/config/config.yaml
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# ztoq and every dependency as wheels, so the runtime stage installs without a compiler.
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels /wheels/ztoq-*.whl
# The unprivileged user (uid 10001, as config/run-migration.sh expects) and the three folders the
# runner mounts: the config (read-only), the store (the working directory) and the reports.
RUN groupadd --gid 10001 ztoq \
    && useradd --uid 10001 --gid ztoq --create-home --shell /usr/sbin/nologin ztoq \
    && mkdir -p /ztoq/config /ztoq/data /ztoq/reports \
    && chown ztoq:ztoq /ztoq/data /ztoq/reports
# Numeric, so that Kubernetes runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /ztoq/data
VOLUME ["/ztoq/data", "/ztoq/reports"]
# ztoq dashboard --host 0.0.0.0 --port 8300 (publish it on loopback: -p 127.0.0.1:8300:8300).
EXPOSE 8300
ENTRYPOINT ["ztoq"]
CMD ["--help"]
