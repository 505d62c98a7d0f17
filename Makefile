# The two commands the README opens with. Both set everything up first.
.PHONY: demo test setup lint bench-audit

setup:
	@./scripts/setup.sh

demo: setup
	.venv/bin/wardwatch demo

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

test: lint
	@./scripts/services.sh
	.venv/bin/pytest

bench-audit: setup
	.venv/bin/wardwatch bench audit --json
