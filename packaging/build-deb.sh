#!/usr/bin/env bash
# Builds the Debian package from this checkout and checks it with lintian.
# Usage: bash packaging/build-deb.sh [OUTDIR]   (default: build-deb/)
# Needs: apt-get install debhelper dpkg-dev lintian (and the build deps).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=${1:-$top/build-deb}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# dpkg-buildpackage wants debian/ at the top of the source tree: build a
# copy of the tracked files with packaging/debian placed there.
mkdir -p "$work/catsyncfs"
git ls-files -z | xargs -0 -I{} cp --parents {} "$work/catsyncfs/"
cp -r packaging/debian "$work/catsyncfs/debian"
(cd "$work/catsyncfs" && dpkg-buildpackage -us -uc -b)
mkdir -p "$out"
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
# Any warning fails. A tag that is wrong for this package would get an
# override in debian/catsyncfs.lintian-overrides, its reason next to it.
lintian --fail-on warning "$out"/*.changes
ls "$out"/*.deb
