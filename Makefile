# Replydesk: `make run` to try it, `make test` to check it, `make bench` to measure it.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: llm-local test-llm install run test check lint fmt typecheck migrations-check imports pytest bench services browser clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock scripts/bootstrap
	@scripts/bootstrap
	@touch $@

services:
	@scripts/services

browser:
	@scripts/install-browser

# `make llm-local`: a local OpenAI-compatible server (Gemma 3 270M), built once into .tools/llm/.
llm-local:
	@scripts/llm-local serve

# `make test-llm`: a fixed set of messages through the pipeline against the local model, and a
# table (parse rates, seconds and calls per message, decisions, drafts). Starts the server
# from the cached build when none answers on LLM_LOCAL_PORT.
test-llm: install
	@$(PY) scripts/test_llm.py

# `make run LLM=local` runs the product against `make llm-local` (started in another terminal).
# The local server answers one request at a time and queues the rest: more calls in flight
# than one only time out in its queue (and are retried, and time out again), so the product
# holds one slot; replies get the budgets `make test-llm` measures (scripts/test_llm.py).
ifeq ($(LLM),local)
export LLM_PROVIDER := openai
export OPENAI_BASE_URL := http://127.0.0.1:$(or $(LLM_LOCAL_PORT),8090)/v1
export OPENAI_API_KEY := local-dummy-key
export LLM_DEFAULT_MODEL := gemma-3-270m
export LLM_MAX_CONCURRENCY ?= 1
export LLM_TIMEOUT_SECONDS ?= 120
export LLM_SLOT_WAIT_SECONDS ?= 300
export LLM_MAX_TOKENS_STRATEGY ?= 200
export LLM_MAX_TOKENS_DRAFT ?= 200
export LLM_MAX_TOKENS_VERIFY ?= 250
export LLM_MAX_TOKENS_OVERSEER ?= 120
export LLM_MAX_TOKENS_EVALUATE ?= 150
endif
run: install
	@$(PY) scripts/dev_database.py
	@$(PY) manage.py migrate --no-input -v 0
	@$(PY) manage.py seed_demo --print-logins
	@$(PY) manage.py demo_messages
	@$(PY) manage.py collectstatic --no-input -v 0
	@echo "Starting web (http://127.0.0.1:$${WEB_PORT:-8000}/), worker and beat. Ctrl-C stops all three."
	@$(VENV)/bin/honcho -f Procfile.dev start

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy .

migrations-check: install
	DB_POOL=0 DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

# The layers and acyclic-module contracts in pyproject.toml ([tool.importlinter]).
imports: install
	$(VENV)/bin/lint-imports

check: lint typecheck migrations-check imports

pytest: install services browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: install services browser check
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install services
	@for b in bench/ingest.py bench/pipeline.py bench/pipeline_llm.py bench/review.py bench/timing.py; do \
	  if [ -f $$b ]; then $(PY) $$b || exit 1; fi; \
	done

clean:
	rm -rf $(VENV) .tools .run test-artifacts
