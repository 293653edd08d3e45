#!/usr/bin/env bash
# The README's second command: install, build, and run every test.
#
#   1. the build with -Dwerror=true, the unit tests (meson test);
#   2. the integration suite (pytest over real mounts of the emulator),
#      the SDK conformance test included;
#   3. the whole integration suite again on an ASan+UBSan build with leak
#      detection, where any sanitizer report fails the test that mounted;
#   4. each libFuzzer target (clang-14) for FUZZ_SECONDS (default 60).
#
# Ends with one line "N passed, N failed" over all of them.
# SKIP_INSTALL=1 skips the apt step and its check that every build
# dependency of the Debian package is installed, SKIP_SANITIZERS=1 step 3,
# SKIP_FUZZ=1 step 4. Under CI (or PACKAGE=1) the RPM spec is checked and
# the Debian package built, linted and installed.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "${SKIP_INSTALL:-}" != 1 ]; then
	bash packaging/install-deps.sh --test || exit 1
	(cd tests/conformance && npm ci --no-audit --no-fund) || exit 1
fi

results=$(mktemp -d)
passed=0
failed=0

if [ "${SKIP_INSTALL:-}" != 1 ]; then
	# The install step must leave every Build-Depends of the Debian
	# package installed; one it missed is named here and fails the run.
	echo "== build dependencies (dpkg-checkbuilddeps)"
	if dpkg-checkbuilddeps packaging/debian/control; then
		passed=$((passed + 1))
		echo "== build dependencies: all installed"
	else
		failed=$((failed + 1))
		echo "== build dependencies: FAILED (install-deps.sh missed them)"
	fi
fi
if [ -n "${CI:-}" ] || [ -n "${PACKAGE:-}" ]; then
	echo "== RPM spec (rpmlint, rpmbuild on Debian)"
	if bash packaging/rpm/check.sh >"$results/rpm.log" 2>&1; then
		passed=$((passed + 1))
		echo "== RPM spec: ok"
	else
		failed=$((failed + 1))
		tail -n 30 "$results/rpm.log"
		echo "== RPM spec: FAILED"
	fi
fi

tally() {	# tally NAME JUNIT_XML
	local counts
	counts=$(/usr/bin/python3 - "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skip = sum(int(s.get("skipped", 0)) for s in suites)
print(t - bad - skip, bad)
PY
)
	passed=$((passed + ${counts% *}))
	failed=$((failed + ${counts#* }))
	echo "== $1: ${counts% *} passed, ${counts#* } failed"
}

build() {	# build DIR [meson options...]
	local dir=$1
	shift
	if [ ! -d "$dir" ]; then
		meson setup "$dir" -Dwerror=true "$@" || return 1
	fi
	ninja -C "$dir"
}

echo "== format (clang-format, .clang-format)"
if git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "== format: FAILED (run clang-format -i on the files above)"
fi

echo "== build (gcc, -Dwerror=true)"
if build build; then
	meson test -C build --suite unit --print-errorlogs
	tally "unit tests" build/meson-logs/testlog.junit.xml
	if [ -n "${CI:-}" ] || [ -n "${PACKAGE:-}" ]; then
		# CI's machine is disposable: build the Debian package and
		# install it with apt, so that mount(8), fstab and systemd
		# find catsyncfs as on a user's machine
		echo "== Debian package"
		if bash packaging/build-deb.sh "$results/deb" &&
		   apt-get install -y -q "$results"/deb/catsyncfs_*.deb; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "== Debian package: FAILED"
		fi
	fi
	echo "== integration tests"
	CATSYNCFS_BUILD_DIR=$top/build /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		--junit-xml="$results/pytest.xml" tests/integration
	tally "integration tests" "$results/pytest.xml"
else
	failed=$((failed + 1))
	echo "== build failed"
fi

if [ "${SKIP_SANITIZERS:-}" != 1 ]; then
	echo "== integration tests again under ASan+UBSan"
	if build build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=24
		export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp
		export CATSYNCFS_SANITIZED=1
		CATSYNCFS_BUILD_DIR=$top/build-asan /usr/bin/python3 -m pytest -q \
			-p no:cacheprovider --junit-xml="$results/asan.xml" tests/integration
		tally "sanitizer tests" "$results/asan.xml"
	else
		failed=$((failed + 1))
		echo "== sanitizer build failed"
	fi
fi

if [ "${SKIP_FUZZ:-}" != 1 ]; then
	echo "== fuzzing, ${FUZZ_SECONDS:-60} s per target"
	if CC=clang-14 build build-fuzz -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false; then
		for target in api_json namecodec write_content ratelimit; do
			work=$(mktemp -d)
			if build-fuzz/tests/fuzz/fuzz_$target \
				-max_total_time="${FUZZ_SECONDS:-60}" \
				-rss_limit_mb=2048 -print_final_stats=1 \
				"$work" "tests/fuzz/corpus/$target" \
				>"$results/fuzz-$target.log" 2>&1; then
				passed=$((passed + 1))
				echo "== fuzz $target: ok, $(grep -o \
					'number_of_executed_units: [0-9]*' \
					"$results/fuzz-$target.log" | grep -o '[0-9]*$') runs"
			else
				failed=$((failed + 1))
				echo "== fuzz $target: FAILED"
				tail -n 40 "$results/fuzz-$target.log"
			fi
			rm -rf "$work"
		done
	else
		failed=$((failed + 1))
		echo "== fuzz build failed"
	fi
fi

rm -rf "$results"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
