#!/usr/bin/env bash
# Installs, once per machine, the real job libraries that tests/jobs_pgboss.rs,
# tests/jobs_graphile.rs and benches/jobs_pgboss.rs drive: pg-boss,
# graphile-worker and pg at pinned versions (README.md names them), cached
# outside the repo (OPSDECK_JOBS_NPM_CACHE, default /var/tmp/opsdeck-npm/jobs)
# so later runs work offline. Prints an `export` line for tests/run.sh to eval:
#   OPSDECK_TEST_JOBS_NPM=/…/jobs
set -euo pipefail

dir=${OPSDECK_JOBS_NPM_CACHE:-/var/tmp/opsdeck-npm/jobs}
pgboss=12.38.0
graphile=0.18.0
pg=8.23.1
have() { [ -f "$dir/node_modules/$1/package.json" ] && grep -q "\"version\": \"$2\"" "$dir/node_modules/$1/package.json"; }
if ! have pg-boss "$pgboss" || ! have graphile-worker "$graphile" || ! have pg "$pg"; then
  command -v npm >/dev/null || { echo "tests/jobs_npm.sh: npm is needed" >&2; exit 2; }
  mkdir -p "$dir"
  echo "tests/jobs_npm.sh: installing pg-boss@$pgboss graphile-worker@$graphile pg@$pg into $dir" >&2
  [ -f "$dir/package.json" ] || echo '{"private": true, "type": "module"}' >"$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund "pg-boss@$pgboss" "graphile-worker@$graphile" "pg@$pg" >&2)
fi
echo "export OPSDECK_TEST_JOBS_NPM=$dir"
