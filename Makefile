# Shoal: `make run` starts the suite, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHOAL_HOME ?= $(HOME)/.shoal
PROTOS := $(wildcard protos/shoal/v1/*.proto)

.PHONY: setup run test unit integration conformance fuzz chaos soak protos check-protos bench lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/shoal run $(ARGS)

# ops' real-server suite first, so the last line is the whole suite's own count.
test: setup
	command -v rsyslogd >/dev/null || test -x /usr/sbin/rsyslogd || apt-get install -y rsyslog || (apt-get update && apt-get install -y rsyslog)
	command -v prometheus >/dev/null || apt-get install -y --no-install-recommends prometheus || (apt-get update && apt-get install -y --no-install-recommends prometheus)
	$(PY) -m tests.conformance.run_ops_suite
	$(PY) -m pytest -q tests

conformance: setup
	$(PY) -m tests.conformance.run_ops_suite

fuzz: setup
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m tests.fuzz.run_fuzz

chaos: setup
	$(PY) -m tests.chaos.run_chaos

soak: setup
	$(PY) -m pip install -q -e '.[dev,bench]'
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	command -v socat >/dev/null || apt-get install -y socat || (apt-get update && apt-get install -y socat)
	$(PY) -m tests.soak.run_soak

protos: setup
	$(PY) -m grpc_tools.protoc -Iprotos \
	  -I"$$($(PY) -c 'import google.api.annotations_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parents[2])')" \
	  --python_out=. --pyi_out=. --grpc_python_out=. $(PROTOS)

bench: setup
	$(PY) -m pip install -q -e '.[dev,bench]'
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	command -v socat >/dev/null || apt-get install -y socat || (apt-get update && apt-get install -y socat)
	$(PY) -m bench.run

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
