# The spfed node image: one operator's node ('spfed serve'), or any other spfed command.
#
#   make image                                   # this machine: see scripts/build_image.py
#   docker build -t spfed:latest .               # anywhere the base image can be pulled
#   docker build --build-arg BASE=IMAGE -t spfed:latest .
#
# BASE is a Debian-based image with python3 >= 3.11: the official python:3.11-slim by
# default, or the one 'make image' builds from Debian's packages (debootstrap) on machines
# that cannot pull from a container registry. Both stages use it, so the virtual environment
# built in the first runs unchanged in the second.
ARG BASE=python:3.11-slim

# --- 1. builder: spfed and its dependencies in /opt/venv, from wheels ----------------------
FROM ${BASE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
# binutils, to strip the dependencies' shared objects; python3-venv where the base's python3
# has no ensurepip (Debian's own python3, as in the base 'make image' builds).
RUN apt-get update -q \
 && packages=binutils \
 && if ! python3 -c "import ensurepip" 2>/dev/null; then packages="$packages python3-venv"; fi \
 && DEBIAN_FRONTEND=noninteractive apt-get install -q --yes --no-install-recommends $packages \
 && rm -rf /var/lib/apt/lists/*
# Certificates (PEM) of a TLS-intercepting proxy between the build and PyPI, if there is one:
# 'make image' passes the host's own CAs (/usr/local/share/ca-certificates). pip trusts them
# besides its own bundle, in this stage only.
ARG EXTRA_CA_CERTS=""
RUN python3 -m venv /opt/venv \
 && if [ -n "$EXTRA_CA_CERTS" ]; then \
      bundle=/etc/spfed-build-ca.pem \
      && cat "$(/opt/venv/bin/python -c 'from pip._vendor import certifi; print(certifi.where())')" > "$bundle" \
      && printf '%s\n' "$EXTRA_CA_CERTS" >> "$bundle" \
      && printf '[global]\ncert = %s\n' "$bundle" > /etc/pip.conf; \
    fi
WORKDIR /src
# The dependencies alone first (and what builds spfed's wheel), binary wheels only (no
# compiler in the image): this layer is reused for as long as pyproject.toml does not change.
# What runs needs neither the test suites some dependencies ship inside their packages
# (tests/, and the testing/ plug-ins of SQLAlchemy, Alembic, Mako and dogpile) nor the
# symbols of their shared objects.
COPY pyproject.toml ./
RUN /opt/venv/bin/python -c "import tomllib; t = tomllib.load(open('pyproject.toml', 'rb')); p = t['project']; print('\n'.join(t['build-system']['requires'] + p['dependencies'] + p['optional-dependencies']['postgres']))" > requirements.txt \
 && /opt/venv/bin/pip install --only-binary=:all: -r requirements.txt \
 && find /opt/venv/lib -depth -type d \( -name tests -o -name testing \) \
         -path '*/site-packages/*' -exec rm -rf {} + \
 && find /opt/venv/lib -type f -name '*.so*' -exec strip --strip-unneeded {} +
COPY README.md ./
COPY spfed spfed
COPY upper_sp upper_sp
COPY lower_sp lower_sp
COPY capability_catalog capability_catalog
COPY addressing addressing
COPY wim wim
# spfed/examples links to ../examples: the wheel carries the demo's topologies.
COPY examples examples
# spfed as a wheel, installed with the postgres extra (the driver of storage.url
# postgresql+psycopg://...); then pip and the wheel's build tools go, as nothing running
# needs them.
RUN /opt/venv/bin/pip wheel --no-build-isolation --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install "$(ls /wheels/spfed-*.whl)[postgres]" \
 && /opt/venv/bin/pip uninstall --yes pip setuptools wheel

# --- 2. the node image ---------------------------------------------------------------------
FROM ${BASE}
LABEL org.opencontainers.image.title="spfed" \
      org.opencontainers.image.description="A node of a federation of telecom service platforms" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SPFED_CONFIG_DIR=/tmp/spfed-cli
# The example topologies and descriptors (the compose federation's among them) and the
# compose demo's script.
COPY examples /opt/spfed/examples
COPY docker/compose-demo.sh /usr/local/bin/spfed-compose-demo
RUN chmod 0755 /usr/local/bin/spfed-compose-demo \
 && groupadd --system --gid 10001 spfed \
 && useradd --system --uid 10001 --gid spfed --home-dir /var/lib/spfed --no-create-home \
            --shell /usr/sbin/nologin spfed \
 && mkdir -p /var/lib/spfed \
 && chown spfed:spfed /var/lib/spfed
COPY --from=builder /opt/venv /opt/venv
USER spfed
WORKDIR /var/lib/spfed
# Where a node's configuration, keys and (SQLite) database live; a named volume in
# docker-compose.yml.
VOLUME ["/var/lib/spfed"]
EXPOSE 50051
# grpc.health.v1 Check of spfed.v1.PlatformService, address and TLS taken from the node's
# configuration: $SPFED_CONFIG, else the --config of 'spfed serve' (the container's command).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "spfed.healthcheck"]
ENTRYPOINT ["spfed"]
CMD ["--help"]
