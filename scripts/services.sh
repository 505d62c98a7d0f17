#!/usr/bin/env bash
# Makes sure the PostgreSQL the test suite needs is running at 127.0.0.1:5432.
# On this machine kind it is started before the session; this restarts it if it stopped.
set -euo pipefail

pg_up() { .venv/bin/python - <<'PY' 2>/dev/null
import psycopg, os
psycopg.connect(os.environ.get("WARDWATCH_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=test"), connect_timeout=3).close()
PY
}

if ! pg_up; then
  echo "[services] PostgreSQL is not answering; trying to start it"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 20); do pg_up && break; sleep 1; done
  pg_up || { echo "[services] PostgreSQL at 127.0.0.1:5432 (database test) is required" >&2; exit 1; }
fi
