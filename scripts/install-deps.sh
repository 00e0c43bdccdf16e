#!/usr/bin/env bash
# Installs the system packages OrderHub builds against, if they are missing (Debian/Ubuntu).
set -euo pipefail
missing=()
for pkg in libsqlite3-dev libcurl4-openssl-dev libpq-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null 2>&1 || { echo "swift 6.2+ is required (https://swift.org/install)"; exit 1; }
