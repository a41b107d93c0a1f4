#!/usr/bin/env bash
# Render the empathy report once in headless Chromium and save a screenshot, to prove it
# displays offline (no network, no JavaScript needed).
#
#   scripts/render_report.sh [REPORT_HTML] [OUT_PNG]
#
# Without REPORT_HTML, runs `empathy-bridge demo` (built-in example desk) into a temporary
# folder and renders the report it writes. Needs chromium (Debian: apt-get install chromium);
# CI does not run this. Set EMPATHY_BRIDGE=path/to/empathy-bridge to pick the executable.
set -euo pipefail

report="${1:-}"
out="${2:-report.png}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "error: chromium is not installed (Debian/Ubuntu: apt-get install -y chromium)" >&2
  exit 2
fi
if [[ -z "$report" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cli="${EMPATHY_BRIDGE:-$here/.venv/bin/empathy-bridge}"
  workdir="$(mktemp -d)"
  EMPATHY_BRIDGE_NO_AUTOLOAD=1 "$cli" demo --workdir "$workdir" --records 120 >/dev/null
  report="$workdir/report/index.html"
fi
[[ -f "$report" ]] || { echo "error: no report at $report" >&2; exit 2; }

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1200,4000 \
  --screenshot="$out" "file://$(realpath "$report")" 2>/dev/null
[[ -s "$out" ]] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot: $out"
