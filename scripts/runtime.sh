#!/bin/sh
# Runs a command with Bun or Deno, the other JavaScript runtimes the client core is tested on.
#
# Why this way: only the npm registry (and Debian) are reachable from CI. Both runtimes publish
# their binaries inside per-platform npm packages (`@oven/bun-linux-x64`, `@deno/linux-x64-glibc`),
# so the script installs that one package with `--ignore-scripts` (the `bun` and `deno` wrapper
# packages' postinstall would pick a platform for us and may download; nothing here downloads
# outside the registry). They are ~100 MB each: cached under $RUNTIMES_HOME (default:
# ~/.cache/nest-dpop/runtimes/<name>-<version>), never devDependencies of the repository.
#
# Usage: scripts/runtime.sh bun|deno [args…]     e.g. scripts/runtime.sh deno --version
#        scripts/runtime.sh --print-path bun|deno  installs if needed, prints the binary's path
# Versions: $BUN_VERSION (default 1.4.5), $DENO_VERSION (default 2.9.6).
set -eu

print=""
if [ "${1:-}" = "--print-path" ]; then print=1; shift; fi
name=${1:-}
[ -n "$name" ] || { echo "usage: scripts/runtime.sh [--print-path] bun|deno [args…]" >&2; exit 2; }
shift

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) arch=x64 ;;
  Linux-aarch64 | Linux-arm64) arch=arm64 ;;
  *) echo "runtime.sh: no $name package for $(uname -s) $(uname -m) here" >&2; exit 1 ;;
esac
# musl (Alpine) has its own Bun build and no Deno one.
libc=glibc
if ldd --version 2>&1 | grep -qi musl; then libc=musl; fi

case "$name" in
  bun)
    version=${BUN_VERSION:-1.4.5}
    bun_arch=$([ "$arch" = arm64 ] && echo aarch64 || echo x64)
    pkg="@oven/bun-linux-$bun_arch$([ "$libc" = musl ] && echo -musl || true)"
    rel="node_modules/$pkg/bin/bun"
    ;;
  deno)
    version=${DENO_VERSION:-2.9.6}
    [ "$libc" = glibc ] || { echo "runtime.sh: Deno publishes no musl package" >&2; exit 1; }
    pkg="@deno/linux-$arch-glibc"
    rel="node_modules/$pkg/deno"
    ;;
  *) echo "runtime.sh: unknown runtime '$name' (bun or deno)" >&2; exit 2 ;;
esac

home=${RUNTIMES_HOME:-${HOME:-/tmp}/.cache/nest-dpop/runtimes}/$name-$version
bin="$home/$rel"
if ! "$bin" --version >/dev/null 2>&1; then
  echo "runtime.sh: installing $pkg@$version from the npm registry into $home" >&2
  mkdir -p "$home"
  npm install --prefix "$home" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
    "$pkg@$version" >/dev/null
  "$bin" --version >/dev/null 2>&1 || { echo "runtime.sh: $pkg@$version installed but $bin does not run" >&2; exit 1; }
fi

if [ -n "$print" ]; then
  echo "$bin"
  exit 0
fi
# Deno would otherwise look for updates on the network at start.
DENO_NO_UPDATE_CHECK=1
export DENO_NO_UPDATE_CHECK
exec "$bin" "$@"
