#!/usr/bin/env bash
# Installs what catsyncfs needs to build, run, test and fuzz on Debian 12.
# Usage: bash packaging/install-deps.sh [--test]   (as root, or with sudo)
# Without --test: the build (man pages included: scdoc) and the demo.
# With --test: also the test, fuzz and packaging tools, and every
# Build-Depends of packaging/debian/control, read from that file by
# apt-get build-dep, so a dependency added there is installed here too.
# tests/run-all.sh checks the result with dpkg-checkbuilddeps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(meson ninja-build pkg-config gcc scdoc libfuse3-dev fuse3
          libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev ca-certificates)
if [ "${1:-}" = "--test" ]; then
	packages+=(python3 python3-pytest rsync vim nano emacs-nox tmux ed
	           clang-14 libfuzzer-14-dev libclang-rt-14-dev valgrind
	           clang-format procps openssl jq debhelper lintian dpkg-dev
	           systemd rpm rpmlint)
	command -v npm >/dev/null || packages+=(nodejs npm)
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
if [ "${1:-}" = "--test" ]; then
	# "$here" holds debian/control: apt reads its Build-Depends
	$sudo apt-get build-dep -y -q --no-install-recommends "$here"
fi
