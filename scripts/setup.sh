#!/usr/bin/env bash
# Installs everything tocsin needs to build, run and test, from Debian 12 packages.
# Idempotent and quiet when all is present. Run as root.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang-format
  libuv1-dev node-llhttp libcurl4-openssl-dev libyaml-dev libmbedtls-dev libjansson-dev
  libpcre2-dev libre2-dev libsqlite3-dev libhiredis-dev libcmocka-dev
  python3 python3-aiosmtpd curl procps util-linux
  libcrypt-dev openssl
  clang libclang-rt-14-dev
  tzdata
  debhelper # scripts/package-deb.sh (dpkg-buildpackage comes with dpkg-dev)
  prometheus-alertmanager
  prometheus # for promtool: tests/e2e/test_mixin.py checks contrib/mixin
  redis-server # HA: tests start it on loopback (tests/e2e/redis_server.py)
  chromium chromium-driver python3-selenium # tests/browser: the on-call page, headless
)
# wrk drives the ingest benchmark; only installed when asked.
if [ "${TN_SETUP_BENCH:-}" = 1 ]; then pkgs+=(wrk); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The prometheus package is here for promtool only: where systemd runs, do not leave the server
# it brings enabled and running (containers' policy-rc.d already keeps it from starting).
for p in "${missing[@]}"; do
  if [ "$p" = prometheus ] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
done
