#!/usr/bin/env bash
# The README's first command: install, build, start the emulator with its
# demo data and mount it.  Unmount with: fusermount3 -u "$MOUNTPOINT"
set -euo pipefail
cd "$(dirname "$0")/.."

# SKIP_INSTALL=1 skips the apt step (for a machine that has everything)
[ "${SKIP_INSTALL:-}" = 1 ] || bash packaging/install-deps.sh
[ -d build ] || meson setup build
ninja -C build

mountpoint=${MOUNTPOINT:-/tmp/catsyncfs-demo}
port=${PORT:-8787}
mkdir -p "$mountpoint"
if mountpoint -q "$mountpoint"; then
	fusermount3 -u "$mountpoint"
fi

# The emulator keeps running in the background; its log goes to a file.
if [ -s /tmp/catsyncfs-emulator.pid ]; then
	kill "$(cat /tmp/catsyncfs-emulator.pid)" 2>/dev/null || true
	sleep 0.2
fi
rm -f /tmp/catsyncfs-emulator.out
nohup build/src/emulator/catsyncfs-emulator --port "$port" --seed demo \
	>/tmp/catsyncfs-emulator.out 2>/tmp/catsyncfs-emulator.log &
echo $! >/tmp/catsyncfs-emulator.pid
for _ in $(seq 50); do
	grep -q http /tmp/catsyncfs-emulator.out 2>/dev/null && break
	sleep 0.1
done
url=$(head -n 1 /tmp/catsyncfs-emulator.out)

# A fresh emulator, a fresh journal (the README's undo recipes read it).
journal=${JOURNAL:-/tmp/catsyncfs-demo-journal.jsonl}
rm -f "$journal"
CLOUDFLARE_API_TOKEN=demo-token build/src/catsyncfs \
	-o "api_url=$url,journal=$journal" "$mountpoint"

echo
pid=$(cat /tmp/catsyncfs-emulator.pid)
echo "catsyncfs is mounted on $mountpoint (emulator at $url, pid $pid)."
echo "Try:   ls $mountpoint/*/   and   cat $mountpoint/*/prod-vpcs/policy"
echo "Every change it sends is journaled in $journal."
echo "Stop:  fusermount3 -u $mountpoint && kill $pid"
