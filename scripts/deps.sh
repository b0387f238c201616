#!/bin/sh
# Install the Debian packages scriptbox needs to build, test and run; only what is missing.
set -eu
need="gcc make pkg-config libc6-dev libseccomp-dev libcap-dev libarchive-dev libcjson-dev \
libcurl4-openssl-dev libssl-dev libcmocka-dev util-linux tar gzip cppcheck"
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Node.js is the runtime of the scripts under test; any packaged node will do (Debian's or a vendor's).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm  >/dev/null 2>&1 || missing="$missing npm"
# Opt-in: headless Chromium for the HTML report's rendering test (too heavy for every CI run).
if [ "${SCRIPTBOX_DEPS_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then missing="$missing chromium"; fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "scriptbox: missing Debian packages:$missing; fix: sudo apt-get install -y$missing" >&2
  exit 2
fi
echo "scriptbox: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
