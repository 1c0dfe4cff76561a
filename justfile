# K2 Quant: `just up` runs the platform, `just test` checks everything.

set shell := ["bash", "-euo", "pipefail", "-c"]
set export

# uv from PATH, or the copy `_uv` installs with pip when there is none.
uv := `command -v uv 2>/dev/null || echo "python3 -m uv"`
UV_PYTHON_DOWNLOADS := "never"
UV_PYTHON_PREFERENCE := "only-system"

# Run the tests and the linters.
default: test

# Install uv with pip when it is missing (uv cannot fetch interpreters here: it uses this machine's Python).
_uv:
    @{{uv}} --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv

# Python dependencies into .venv, exactly as uv.lock pins them.
sync: _uv
    {{uv}} sync --frozen --python python3 --quiet

# Web dependencies (only when package-lock.json changed) and the production build in web/dist.
web:
    cd web && if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
    cd web && npm run build --silent

# Run K2 Quant on its embedded stack: install, build the web app, start, print the URL.
up: sync web
    {{uv}} run --frozen --no-sync k2q up

# Everything CI checks: lint, the Python suite (browser tests included), the web unit tests.
test: sync web lint
    cd web && npm test --silent
    {{uv}} run --frozen --no-sync pytest

# A longer API fuzzing pass than `just test`'s: `scale` times the requests per operation and role.
fuzz scale="10": sync
    K2Q_FUZZ_SCALE={{scale}} {{uv}} run --frozen --no-sync pytest tests/api/test_no_server_errors.py --timeout 7200

# Formatting, lint, strict types, the layer contract, and the web app's types and bundle budget.
lint: sync
    {{uv}} run --frozen --no-sync ruff format --check .
    {{uv}} run --frozen --no-sync ruff check .
    {{uv}} run --frozen --no-sync mypy
    {{uv}} run --frozen --no-sync lint-imports
    cd web && if [ -d node_modules ]; then npm run typecheck --silent && npm run lint --silent && npm run size --silent; fi

# Reformat and auto-fix.
fmt: sync
    {{uv}} run --frozen --no-sync ruff format .
    {{uv}} run --frozen --no-sync ruff check --fix .

# Benchmarks: ratios against baselines measured in the same run (not part of `test`).
bench: sync
    {{uv}} run --frozen --no-sync python -m bench

# Regenerate the web app's API types from the server's OpenAPI schema.
types: sync
    {{uv}} run --frozen --no-sync k2q openapi > web/openapi.json
    cd web && npm run gen:types --silent
