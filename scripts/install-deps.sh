#!/usr/bin/env bash
# Installs the Debian packages cwfilter builds against, only those missing.
# Idempotent: a second run installs nothing and makes no network call.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      tao-pegtl-dev rapidjson-dev libfmt-dev catch2 libbenchmark-dev libre2-dev
      libcli11-dev zlib1g-dev libcurl4-openssl-dev libyaml-cpp-dev
      clang libclang-rt-14-dev python3 python3-venv python3-pip)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
