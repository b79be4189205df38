// Package browser holds the status page's real-browser test: an in-process 3-region mesh with a
// gateway per region, one region killed, and /status opened in headless Chromium through
// chromedp. install-chromium.sh (called by .ci/run) installs Debian's chromium when missing; the
// test skips with a message when no Chromium is found, unless GEOMESH_REQUIRE_BROWSER=1.
package browser
