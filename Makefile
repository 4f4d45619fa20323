# spfed: the two set-up commands are `make demo` and `make test`.
# Both create (or reuse) .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
BUF    := node_modules/.bin/buf
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: demo demo-dataplane demo-slice image test crash-matrix lint format imports typecheck pytest proto buf-lint bench bench-openstack clean help openstack-up openstack-down openstack-status

help:
	@echo "make demo   - run a 4-operator, 3-level federation end to end"
	@echo "make test   - lint, import contracts, type checks and the whole test suite"
	@echo "make crash-matrix - crash each node at each task and phase of each workflow; no leaks"
	@echo "make demo-dataplane - real packets through a chain across 3 operators (needs root)"
	@echo "make bench  - latency benchmarks: instantiate/terminate, token and TLS cost (prints figures)"
	@echo "make bench-openstack - the OpenStack driver on the qualification cloud (prints figures)"
	@echo "make proto  - regenerate spfed/api/v1 from proto/"
	@echo "make image  - build the spfed image (Dockerfile) and the compose federation's PostgreSQL image"
	@echo "make openstack-up     - start a real local OpenStack for tests/openstack (kept running)"
	@echo "make openstack-down   - stop it and remove its databases, vhost and files"
	@echo "make openstack-status - is it running and healthy?"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(BIN)/pip install -q -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/spfed demo

# Network namespaces, veth and VXLAN: run as root (sudo make demo-dataplane).
demo-dataplane: $(RUNTIME_STAMP)
	$(BIN)/spfed demo-dataplane

demo-slice: demo-dataplane

test: $(DEV_STAMP)
	$(MAKE) --no-print-directory lint imports typecheck pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory buf-lint

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# buf ships as the npm package @bufbuild/buf (exact version in package.json),
# installed locally. `npm install`, not `npm ci`: the lock can only hold the
# platform packages the registry serves, and `npm ci` refuses a lock without
# all of buf's optional platform packages. `--no-save`: npm installs what the
# lock pins (integrity checked) but never rewrites package-lock.json, which
# would otherwise gain the platform package of this machine and leave the tree
# dirty. Without npm only this step is skipped; with CI=true it must run.
buf-lint: $(DEV_STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  { test -x $(BUF) || npm install --no-save --silent --no-audit --no-fund; } && \
	  $(PY) scripts/gen_proto.py --buf-deps build/proto-deps && $(BUF) lint && echo "buf lint: clean"; \
	elif [ "$$CI" = "true" ]; then \
	  echo "buf lint: npm is required when CI=true" >&2; exit 1; \
	else \
	  echo "buf lint: SKIPPED, npm is not installed (install Node.js to lint proto/)"; \
	fi

imports: $(DEV_STAMP)
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/pytest -q

# The whole crash matrix (tests/crash): a node of a real 3-level federation ends itself at
# each task and phase of each workflow (spfed.faults), then nothing may be left anywhere.
# `make test` runs a few of its cases; the others carry the crash_matrix marker, which
# pyproject.toml deselects by default. Some 10-15 minutes on 2 cores.
crash-matrix: $(DEV_STAMP)
	$(BIN)/pytest -q -m crash_matrix tests/crash

# The node image (Dockerfile) and the PostgreSQL image of docker-compose.yml. Where the base
# images cannot be pulled, their base is built from Debian's packages (debootstrap, as root)
# and kept as spfed-base:bookworm; see scripts/build_image.py.
image:
	$(PYTHON) scripts/build_image.py

proto: $(DEV_STAMP)
	$(PY) scripts/gen_proto.py

bench: $(DEV_STAMP)
	$(PY) -m benchmarks.instantiate
	$(PY) -m benchmarks.auth
	$(PY) -m benchmarks.catalogue
	$(PY) -m benchmarks.wim_paths
	$(PY) -m benchmarks.dataplane
	$(PY) -m benchmarks.noisy_neighbour

bench-openstack: $(DEV_STAMP)
	$(PY) -m benchmarks.openstack

# A real minimal OpenStack (Keystone, Placement, Glance, Neutron, Nova with the fake virt
# driver) on 127.0.0.1, against the local MariaDB and RabbitMQ; installed once into
# $SPFED_OPENSTACK_HOME (default ~/.cache/spfed/openstack). The tests in tests/openstack reuse it
# while it is healthy, and otherwise start and stop their own.
openstack-up: $(DEV_STAMP)
	$(PY) -m tests.openstack up

openstack-down: $(DEV_STAMP)
	$(PY) -m tests.openstack down

openstack-status: $(DEV_STAMP)
	$(PY) -m tests.openstack status

# A cloud of `make openstack-up` is recorded under build/: stop it before removing the record.
clean:
	@if [ -f build/openstack/state.json ] && [ -x $(PY) ]; then $(PY) -m tests.openstack down; fi
	rm -rf build .spfed .mypy_cache .ruff_cache .pytest_cache
