#!/usr/bin/env bash
# Checks catsyncfs.spec on Debian, as far as Debian allows: rpmlint on the
# spec, then rpmbuild -bb from the tracked files of this checkout, so that
# the %build and %install steps run and the %files list must match what
# meson installs (a file installed but not listed fails the build).
# Needs: apt-get install rpm rpmlint (and the build deps of the package).
#
# What Debian cannot check: BuildRequires (--nodeps: Debian's packages are
# not in the rpm database) and Fedora's own %meson macros, which come with
# Fedora's meson package; the three this spec uses are defined below for
# this check only (setup with rpm's paths, compile, install into the
# buildroot). A full check is a build in a Fedora container or mock, which
# this CI does not have.
# brp-compress runs under bash: it uses read -d, which Debian's /bin/sh
# (dash) lacks; under dash the man pages would go in uncompressed.
set -euo pipefail
cd "$(dirname "$0")/../.."
spec=packaging/rpm/catsyncfs.spec
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rpmlint -r packaging/rpm/catsyncfs.rpmlintrc "$spec"

version=$(rpmspec -q --srpm --qf '%{version}' "$spec")
mkdir -p "$work/SOURCES" "$work/catsyncfs-$version"
git ls-files -z | xargs -0 -I{} cp --parents {} "$work/catsyncfs-$version/"
tar -C "$work" -czf "$work/SOURCES/catsyncfs-$version.tar.gz" \
	"catsyncfs-$version"

b=rpm-build
setup="meson setup --buildtype=plain --wrap-mode=nodownload --prefix=%{_prefix}"
setup+=" --bindir=%{_bindir} --sbindir=%{_sbindir} --libdir=%{_libdir}"
setup+=" --mandir=%{_mandir} --sysconfdir=%{_sysconfdir} $b"
rpmbuild -bb --nodeps "$spec" \
	--define "_topdir $work" \
	--define "meson $setup" \
	--define "meson_build meson compile -C $b" \
	--define "meson_install DESTDIR=%{buildroot} meson install -C $b --no-rebuild" \
	--define "__brp_compress bash /usr/lib/rpm/brp-compress %{_prefix}"

rpm -qlvp "$work"/RPMS/*/catsyncfs-*.rpm
