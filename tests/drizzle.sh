#!/usr/bin/env bash
# Installs, once per machine, the real Drizzle migrator that
# tests/migrations_drizzle.rs drives: drizzle-orm and pg at pinned versions
# (README.md names them), cached outside the repo (OPSDECK_DRIZZLE_CACHE,
# default /var/tmp/opsdeck-npm/drizzle) so later runs work offline. Prints an
# `export` line for tests/run.sh to eval:
#   OPSDECK_TEST_DRIZZLE=/…/drizzle
set -euo pipefail

dir=${OPSDECK_DRIZZLE_CACHE:-/var/tmp/opsdeck-npm/drizzle}
drizzle=0.45.4
pg=8.23.1
if [ ! -f "$dir/node_modules/drizzle-orm/package.json" ] ||
  ! grep -q "\"version\": \"$drizzle\"" "$dir/node_modules/drizzle-orm/package.json"; then
  command -v npm >/dev/null || { echo "tests/drizzle.sh: npm is needed" >&2; exit 2; }
  mkdir -p "$dir"
  echo "tests/drizzle.sh: installing drizzle-orm@$drizzle pg@$pg into $dir" >&2
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund "drizzle-orm@$drizzle" "pg@$pg" >&2)
fi
echo "export OPSDECK_TEST_DRIZZLE=$dir"
