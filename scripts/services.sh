#!/usr/bin/env bash
# Makes sure the services the test suite needs are running: PostgreSQL at 127.0.0.1:5432
# and the Mosquitto MQTT broker at 127.0.0.1:1883. On this machine kind both are started
# before the session; this restarts one that stopped.
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

mqtt_up() { .venv/bin/python - <<'PY' 2>/dev/null
import socket
socket.create_connection(("127.0.0.1", 1883), timeout=3).close()
PY
}

if ! mqtt_up; then
  echo "[services] Mosquitto is not answering on 127.0.0.1:1883; trying to start it"
  if ! command -v mosquitto >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null || true
    else
      DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -qq mosquitto >/dev/null || true
    fi
  fi
  if command -v mosquitto >/dev/null 2>&1; then
    mosquitto -d -c /etc/mosquitto/mosquitto.conf || mosquitto -d || true
  fi
  for _ in $(seq 1 20); do mqtt_up && break; sleep 1; done
  mqtt_up || { echo "[services] the Mosquitto broker at 127.0.0.1:1883 is required" >&2; exit 1; }
fi
