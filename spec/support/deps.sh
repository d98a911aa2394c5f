#!/usr/bin/env bash
# Installs, from Debian's packages, whatever the build and the tests need and
# this machine lacks. Run as root it installs (running apt-get update first
# when the package lists are empty or the first install attempt fails); run
# as another user it names the missing packages and fails.
#   deps.sh [group...]   groups: build test bench fuzz docs asan simulator (default: build test)
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

pkgs=()
for g in "${groups[@]}"; do
  case "$g" in
    build) pkgs+=(cmake make gcc pkg-config lua5.4 liblua5.4-dev lua-cjson
                  libcurl4-openssl-dev libssl-dev) ;;
    test)  pkgs+=(lua-busted lua-check luarocks lua-socket lua-sec postgresql
                  openssl curl ca-certificates procps psmisc python3 systemd
                  nginx-light valgrind lua-ldoc pgbouncer chromium) ;;
    bench) pkgs+=(nginx-light curl valgrind) ;;
    fuzz)  pkgs+=(clang libclang-rt-14-dev) ;;
    docs)  pkgs+=(lua-ldoc) ;;
    asan)  pkgs+=(clang libclang-rt-14-dev valgrind) ;;
    simulator) pkgs+=(lua5.4 lua-cjson lua-socket lua-sec openssl) ;;
    *) echo "deps.sh: unknown group '$g' (build test bench fuzz docs asan simulator)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] || ! apt_install "${missing[@]}"; then
  apt-get update -q >/dev/null
  apt_install "${missing[@]}"
fi
