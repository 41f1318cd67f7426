#!/usr/bin/env bash
# No Docker engine here: reproduce the image's build and runtime steps in a
# temp folder (same files, same install and start commands) and check that
# the production-only install starts, answers /healthz and exits on SIGTERM.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src" "$work/app"
cp "$root/package.json" "$root/package-lock.json" "$root/tsconfig.json" "$root/tsconfig.build.json" "$work/src/"
cp -r "$root/src" "$work/src/src"
(cd "$work/src" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run build --silent >/dev/null && npm prune --omit=dev --loglevel=error >/dev/null)
cp "$work/src/package.json" "$work/app/"
cp -r "$work/src/node_modules" "$work/src/dist" "$work/app/"

cd "$work/app"
for dev in typescript jest ts-jest supertest; do
  if [ -d "node_modules/$dev" ]; then echo "check-runtime: dev dependency $dev left in the image" >&2; exit 1; fi
done
echo "check-runtime: version $(node dist/main.js --version)"
echo "check-runtime: node_modules $(du -sh node_modules | cut -f1)"

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
env -i PATH="$PATH" NODE_ENV=production NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=96" DRAINER_PORT="$port" DRAINER_HOST=127.0.0.1 DRAINER_APP_NAME=demo POD_IP=127.0.0.1 \
  DRAINER_EUREKA_URLS=http://127.0.0.1:1/eureka/ DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS=0 DRAINER_GRACE_PERIOD_SECONDS=5 \
  DRAINER_APP_PORT=1 node dist/main.js >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "check-runtime: /healthz did not answer" >&2; cat "$work/out.log" >&2; exit 1; }
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
echo "check-runtime: exit code after SIGTERM: $code"
[ "$code" -eq 0 ] || { cat "$work/out.log" >&2; exit 1; }
echo "check-runtime: ok"
