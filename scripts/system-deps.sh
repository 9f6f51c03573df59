#!/usr/bin/env bash
# Install the Debian packages that the end-to-end tests and benchmarks run for real (and the
# Chromium of the browser tests), only when one is missing (apt-get update is slow, so it runs
# only then).
set -euo pipefail
need=()
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v /usr/sbin/sshd >/dev/null 2>&1 || need+=(openssh-server)
# The web UI's browser tests drive Debian's Chromium through Playwright (no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
