#!/usr/bin/env bash
# Sets up everything WardWatch needs on a fresh Debian 12 machine: system packages from
# apt, a Python 3.11 virtual environment at .venv, and the package with its dev tools.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# System packages: GStreamer's RTSP server for the simulated cameras, the headers PyGObject
# builds against, the ffmpeg CLI (the recording benchmark's baseline), and Debian's
# Chromium with fonts that cover Vietnamese and Chinese, which Playwright drives for the
# browser tests and the live-latency benchmark (Playwright never downloads a browser).
APT_PACKAGES=(
  ca-certificates pkg-config libgirepository1.0-dev libcairo2-dev
  gstreamer1.0-tools gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav ffmpeg
  chromium fonts-dejavu-core fonts-wqy-zenhei
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
PYTHON=$(command -v python3.11 || true)
if [ -z "$PYTHON" ]; then
  missing+=(python3.11 python3.11-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  PYTHON=$(command -v python3.11)
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  log "creating .venv with $PYTHON"
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.wardwatch-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c 'import wardwatch' 2>/dev/null; then
  log "installing wardwatch and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  echo "$want" > "$stamp"
fi
log "ready: .venv/bin/wardwatch"
