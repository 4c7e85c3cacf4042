#!/usr/bin/env bash
# Consumer tests: the two packages as a stranger gets them. Packs nest-dpop and nest-dpop-client,
# installs the tarballs with Nest from the registry into fresh apps OUTSIDE the repository, and per
# app: type-checks under `strict` with `skipLibCheck: false` (so the packages' .d.ts too), once
# per tsconfig*.json of the app, runs the app's own tests (overrideProvider(JtiStore); import and
# require() give the same classes), boots it and drives it with proofs from nest-dpop-client
# (200 with @JKT() == thumbprint and the jti in Redis, replay 401, no proof 401, terminus
# /health 200). Each app keeps its replay keys in the real Redis on 127.0.0.1:6379 (RedisJtiStore,
# a key prefix of its own, removed afterwards). Any WARN or ERROR the server logs fails the run.
#
#   nest12-esm   Nest 12, ESM, Node 24, Express and Fastify (one install, two boots); ioredis 6,
#                @nestjs/terminus 12; type-checked with nodenext and bundler resolution; a Jest
#                spec under Jest's ESM runtime
#   nest11-cjs   Nest 11, CommonJS (TypeScript module: commonjs), the machine's Node 20.19+,
#                require() loading the packages' ESM build (module-sync), Jest their CommonJS
#                build; ioredis 5, @nestjs/terminus 11;
#                type-checked with node10, node16 and (as `nest new` writes it) nodenext
#                resolution; Jest as `nest new` sets it up
#                (package.json "jest" and test/jest-e2e.json, ts-jest), `npx jest` and
#                `npx jest --config ./test/jest-e2e.json`
#   nest12-vitest  the app `nest new` (@nestjs/cli 12) generates today: ESM, Vitest; and
#   nest11-jest    the one `@nestjs/cli@11 new` generates: CommonJS, Jest + ts-jest, on the machine's
#                Node 20 (with @nestjs/config@4, the Nest 11 major). Committed as generated (minus
#                node_modules, the lockfile and the Nest 12 .oxlintrc.json, which the repository's
#                type-aware lint would take for a nested config; @nestjs/observe is left out: it
#                sends telemetry off the machine), plus nest-dpop's README Redis wiring word for
#                word (src/app.module.ts), a /me route and an e2e spec with the README's testing
#                recipes: the store swapped without any Redis, then a real Redis (a private
#                redis-server started here, REDIS_URL). Their own `npm test` and `npm run
#                test:e2e` run without --forceExit and must exit by themselves within 10 s of
#                the end of the last test file (measured from the runner's JSON report).
#   NAME@floor   the same app on the lowest minor of its Nest major (~11.0 / ~12.0), so that the
#                peer range ^11.0.0 || ^12.0.0 is proven at both ends of both majors
#
# Usage: scripts/consumers/run.sh [nest12-esm|nest11-cjs|nest12-esm@floor|nest11-cjs@floor …]
#        (default: all four)
# Env:   CONSUMERS_DIR  where the apps go (default: a new folder under $TMPDIR; removed after)
#        NODE20         the Node 20 binary (default: the first `node` on PATH older than 22 that
#                       is >= 20.19, else the first >= 20.19 that is not Node 24)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
started=$(date +%s)

node24_bin=$("$repo/scripts/node24.sh" --print-bin)
node24="$node24_bin/node"

# The machine's own Node 20 for the CommonJS consumer.
find_node20() {
  local candidate v
  for candidate in ${NODE20:-} $(which -a node 2>/dev/null) /usr/bin/node /usr/local/bin/node; do
    [ -x "$candidate" ] || continue
    v=$("$candidate" -p 'const [a,b]=process.versions.node.split(".").map(Number); a===20&&b>=19 ? "ok" : ""' 2>/dev/null) || continue
    if [ "$v" = ok ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

consumers=("$@")
[ ${#consumers[@]} -gt 0 ] || consumers=(nest12-esm nest11-cjs nest12-esm@floor nest11-cjs@floor nest12-vitest nest11-jest)

work=${CONSUMERS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nest-dpop-consumers.XXXXXX")}
case "$work" in "$repo"/*) echo "consumers: $work is inside the repository" >&2; exit 2 ;; esac
mkdir -p "$work"
cleanup() { [ -n "${CONSUMERS_DIR:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

npm_quiet=(--no-audit --no-fund --loglevel=error --prefer-offline)

echo "== consumers: pack (in $work)"
# Canary keys where a careless key generation would leave them: the `files` allow-lists must keep
# them out of the tarballs (they are gitignored, and removed again right after packing).
canaries=()
for lib in dpop dpop-client; do
  for f in "$repo/libs/$lib/canary.jwk" "$repo/libs/$lib/src/canary.pem" "$repo/libs/$lib/src/canary.key"; do
    [ -e "$f" ] || { echo '{"kty":"OKP","d":"canary"}' >"$f"; canaries+=("$f"); }
  done
done
for lib in dpop dpop-client; do
  # prepack builds the package; the last line npm prints is the tarball's name.
  name=$(cd "$repo/libs/$lib" && PATH="$node24_bin:$PATH" npm pack --silent --pack-destination "$work" | tail -1)
  mv "$work/$name" "$work/nest-$lib.tgz"
  # No keys, specs, fixtures, tests; every source map's sources inside the package (src/ ships).
  checked=$("$node24" "$repo/scripts/consumers/check-tarball.mjs" "$work/nest-$lib.tgz") || {
    rm -f "${canaries[@]}"; exit 1
  }
  echo "packed $name ($(du -k "$work/nest-$lib.tgz" | cut -f1) kB): $checked"
done
rm -f "${canaries[@]}"

# A loopback port that was free a moment ago ($1 = node): the apps list their origin in
# allowedOrigins, so the port must be known before the app is built.
free_port() {
  "$1" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# Boots dist/src/main.js with $1 = node, $2.. = env assignments; drives it; checks its log.
boot_and_drive() {
  local node=$1 label=$2; shift 2
  local log="$work/$label.server.log"
  # A free port, known before the app is built: the app lists its origin in allowedOrigins.
  local port
  port=$(free_port "$node")
  env "$@" PORT="$port" "$node" dist/src/main.js >"$log" 2>&1 &
  local pid=$!
  local url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^LISTENING //p' "$log" | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "[$label] did not start:"; cat "$log"; kill "$pid" 2>/dev/null || true; return 1
  fi
  local status=0
  "$node" dist/test/drive.js "$url" || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Nest colours its levels; strip ANSI codes before looking for them.
  if sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E ' (WARN|ERROR) ' ; then
    echo "[$label] the server logged a warning or an error (above)"; status=1
  fi
  [ "$status" -eq 0 ] && echo "[$label] boot + drive OK, no warning logged"
  return "$status"
}

# A private redis-server on a free port (no persistence) for the `nest new` apps' real-Redis tests;
# prints its pid, then its URL.
start_private_redis() {
  local port; port=$(free_port "$node24")
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis-$port.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "$pid redis://127.0.0.1:$port"; return 0; }
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; return 1
}

# Runs `npm run $2` of a `nest new` app ($1 = its label) with the runner's JSON report in $3; fails
# unless it passes and its process exits by itself within 10 s of the end of its last test file.
run_and_time_exit() {
  local label=$1 script=$2 report=$3; shift 3
  local status=0
  timeout 180 npm run -s "$script" -- "$@" || status=$?
  local exited; exited=$("$node24" -p 'Date.now()')
  if [ "$status" -eq 124 ]; then echo "[$label] npm run $script did not exit within 180 s"; return 1; fi
  [ "$status" -eq 0 ] || { echo "[$label] npm run $script failed ($status)"; return 1; }
  local lag
  lag=$("$node24" -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ends = r.testResults.map((t) => t.endTime).filter((t) => typeof t === "number");
    if (ends.length === 0 || r.numTotalTests === 0) { console.log("no-tests"); process.exit(0); }
    console.log(Math.round(Number(process.argv[2]) - Math.max(...ends)));' "$report" "$exited") || return 1
  [ "$lag" != no-tests ] || { echo "[$label] npm run $script ran no test"; return 1; }
  if [ "$lag" -gt 10000 ]; then
    echo "[$label] npm run $script exited $lag ms after its last test (more than 10 s)"; return 1
  fi
  echo "[$label] npm run $script passed, exited by itself $lag ms after its last test"
}

# A `nest new` app: install, its own unit and e2e tests (no Redis, then a private Redis).
run_nest_new_app() {
  local name=$1 node=$2 runner=$3
  local bin; bin=$(dirname "$node")
  PATH="$bin:$node24_bin:$PATH" npm install "${npm_quiet[@]}" || return 1
  "$node" -e 'const v = (p) => JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json", "utf8")).version;
    console.log("[" + process.argv[1] + "] installed: " + ["@nestjs/core", "@nestjs/config", "@nestjs-modules/ioredis", "ioredis", "nest-dpop", "typescript", process.argv[2]].map((p) => p + "@" + v(p)).join(" "))' "$name" "$runner"
  local redis; redis=$(start_private_redis) || { echo "[$name] no redis-server"; return 1; }
  local redis_pid=${redis%% *}
  local status=0
  local report_args
  for script in test test:e2e; do
    local report="$work/$name.$script.json"
    case "$runner" in
      vitest) report_args=(--reporter=default --reporter=json --outputFile="$report") ;;
      jest) report_args=(--ci --json --outputFile="$report") ;;
    esac
    REDIS_URL=${redis#* } PATH="$bin:$node24_bin:$PATH" run_and_time_exit "$name" "$script" "$report" "${report_args[@]}" || { status=1; break; }
  done
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  return "$status"
}

run_consumer() {
  local name=$1 template=${1%@floor} node
  case "$template" in
    nest12-vitest | nest11-jest)
      [ "$template" = nest12-vitest ] && node=$node24 || { node=$(find_node20) || { echo "[$name] no Node >= 20.19 < 21 found (set NODE20)"; return 1; }; }
      local dir="$work/$name"
      rm -rf "$dir" && cp -R "$repo/test/consumers/$template" "$dir" && cd "$dir" || return 1
      echo "== consumer $name (nest new): node $("$node" --version)"
      run_nest_new_app "$name" "$node" "$([ "$template" = nest12-vitest ] && echo vitest || echo jest)" || return 1
      cd "$repo"
      return 0
      ;;
  esac
  case "$template" in
    nest12-esm) node=$node24 ;;
    nest11-cjs) node=$(find_node20) || { echo "[$name] no Node >= 20.19 < 21 found (set NODE20)"; return 1; } ;;
    *) echo "unknown consumer $name"; return 2 ;;
  esac
  local dir="$work/$name"
  rm -rf "$dir" && cp -R "$repo/test/consumers/$template" "$dir" && cd "$dir" || return 1
  if [ "$name" != "$template" ]; then
    # The lowest minor of the major: "^11.0.0" becomes "~11.0.0" for every @nestjs package.
    sed -i -E 's/"\^(1[0-9])\.0\.0"/"~\1.0.0"/' package.json || return 1
  fi
  local bin; bin=$(dirname "$node")
  echo "== consumer $name: node $("$node" --version)"
  # The app's own replay keys in the shared Redis (see src/redis.module.ts).
  export KEY_PREFIX="nest-dpop-consumer:$name:"
  # npm runs on the consumer's own Node; the npm cache (~/.npm) is shared with the repo's install.
  # (`|| return 1` on each step: errexit is off inside a function called from `||`.)
  PATH="$bin:$node24_bin:$PATH" npm install "${npm_quiet[@]}" || return 1
  "$node" -e 'const v = (p) => JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json", "utf8")).version;
    console.log("[" + process.argv[1] + "] installed: " + ["@nestjs/core", "@nestjs/terminus", "ioredis", "nest-dpop", "nest-dpop-client", "typescript", "rxjs", "reflect-metadata"].map((p) => p + "@" + v(p)).join(" "))' "$name"
  # A fresh key prefix has no replay-history marker, which RedisJtiStore must take for a loss of
  # history (proofs would need a use_dpop_nonce round trip for a window, with a warning logged):
  # the app starts on an intact history, as nest-dpop/testing writes it for tests.
  redis_seed "$name" || { echo "[$name] could not seed its Redis key prefix"; return 1; }
  # tsconfig.json type-checks and emits; the others (noEmit) read the packages' types as other
  # module resolutions do. Any type error fails it. (ioredis 6's .d.ts import the untyped
  # redis-errors: with skipLibCheck false an app needs @types/redis-errors, as nest12-esm has.)
  local config
  for config in tsconfig.json $(ls tsconfig.*.json 2>/dev/null); do
    "$node" node_modules/typescript/bin/tsc -p "$config" || { echo "[$name] $config: type errors"; return 1; }
    echo "[$name] strict type-check OK ($config)"
  done
  PORT=$(free_port "$node") "$node" --test --test-timeout=60000 --test-reporter=spec dist/test/app.test.js || return 1
  case "$template" in
    nest11-cjs)
      # Jest exactly as the app configures it (Jest's CommonJS runtime, ts-jest), on the app's
      # Node; npx finds node_modules/.bin/jest.
      PATH="$bin:$node24_bin:$PATH" PORT=$(free_port "$node") npx --no-install jest --ci || return 1
      PATH="$bin:$node24_bin:$PATH" PORT=$(free_port "$node") npx --no-install jest --ci --config ./test/jest-e2e.json || return 1
      echo "[$name] Jest OK (npx jest, npx jest --config ./test/jest-e2e.json)"
      ;;
    nest12-esm)
      # Jest's ESM runtime on the compiled tests (package.json "jest").
      "$node" --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js --ci || return 1
      echo "[$name] Jest (ESM) OK"
      ;;
  esac
  # The client's `dpop` bin, as npm linked it (shebang kept by the build).
  local jkt
  jkt=$(PATH="$bin:$PATH" node_modules/.bin/dpop keygen --out "$dir/agent.jwk" 2>/dev/null) || return 1
  [ "$(PATH="$bin:$PATH" node_modules/.bin/dpop thumbprint --key "$dir/agent.jwk")" = "$jkt" ] || return 1
  echo "[$name] dpop CLI OK (keygen, thumbprint)"
  case "$template" in
    nest12-esm)
      boot_and_drive "$node" "$name express" ADAPTER=express || return 1
      boot_and_drive "$node" "$name fastify" ADAPTER=fastify || return 1
      ;;
    *) boot_and_drive "$node" "$name express" || return 1 ;;
  esac
  cd "$repo"
}

# Writes an intact replay history under consumer $1's key prefix (seedRedisJtiStoreHistory from
# the installed nest-dpop/testing, with the app's own ioredis, on Node 24).
redis_seed() {
  "$node24" -e '
    const { Redis } = require("ioredis");
    const { seedRedisJtiStoreHistory } = require("nest-dpop/testing");
    const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true });
    seedRedisJtiStoreHistory(redis, { keyPrefix: process.argv[1] })
      .then(() => redis.quit())
      .catch((error) => { console.error(error); process.exit(1); });
  ' "$KEY_PREFIX"
}

# Removes consumer $1's keys from Redis, with the app's own ioredis (on Node 24).
redis_cleanup() {
  local name=$1
  (cd "$work/$name" 2>/dev/null && "$node24" -e '
    const { Redis } = require("ioredis");
    const [prefix, name] = process.argv.slice(1);
    const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    (async () => {
      let removed = 0;
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
        if (keys.length > 0) removed += await redis.unlink(...keys);
      }
      await redis.quit();
      console.log(`[${name}] removed ${removed} Redis keys under ${prefix}`);
    })().catch((error) => { console.error(error); process.exit(1); });
  ' "nest-dpop-consumer:$name:" "$name") || echo "[$name] could not remove its Redis keys"
}

status=0
for consumer in "${consumers[@]}"; do
  run_consumer "$consumer" || { echo "== consumer $consumer FAILED"; status=1; }
  cd "$repo"
  redis_cleanup "$consumer"
done
echo "== consumers: $([ $status -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - started )) s"
exit "$status"
