#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (test/browser/), once. Idempotent: does nothing
# when chromium is already on PATH. Needs root (or sudo) and apt; CI runs as root.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: chromium is missing and apt-get is not available; install chromium by hand" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-chromium: chromium is missing; run this script as root (or install sudo)" >&2
    exit 1
  fi
fi

echo "install-chromium: installing Debian's chromium (once)"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
command -v chromium
