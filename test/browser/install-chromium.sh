#!/bin/sh
# install-chromium.sh: make a headless Chromium available for the status-page browser test
# (test/browser). Idempotent and quiet: does nothing when a Chromium is already on PATH;
# otherwise installs Debian's "chromium" package with apt-get (needs root). Called by .ci/run.
set -eu

for bin in chromium chromium-browser google-chrome headless-shell; do
	if command -v "$bin" >/dev/null 2>&1; then
		exit 0
	fi
done

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium.sh: no chromium on PATH and no apt-get to install it" >&2
	exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "install-chromium.sh: apt-get install chromium failed" >&2
	exit 1
fi
command -v chromium >/dev/null 2>&1 || {
	echo "install-chromium.sh: chromium still not on PATH after apt-get install" >&2
	exit 1
}
