#!/usr/bin/env bash
# Installs, once per machine, the real BullMQ that tests/jobs_bullmq.rs and
# benches/jobs_bullmq.rs drive: bullmq and ioredis at pinned versions
# (README.md names them), cached outside the repo (OPSDECK_BULLMQ_CACHE,
# default /var/tmp/opsdeck-npm/bullmq) so later runs work offline. Prints an
# `export` line for tests/run.sh to eval:
#   OPSDECK_TEST_BULLMQ=/…/bullmq
set -euo pipefail

dir=${OPSDECK_BULLMQ_CACHE:-/var/tmp/opsdeck-npm/bullmq}
bullmq=6.7.0
ioredis=5.11.1
if [ ! -f "$dir/node_modules/bullmq/package.json" ] ||
  ! grep -q "\"version\": \"$bullmq\"" "$dir/node_modules/bullmq/package.json" ||
  ! grep -q "\"version\": \"$ioredis\"" "$dir/node_modules/ioredis/package.json"; then
  command -v npm >/dev/null || { echo "tests/bullmq.sh: npm is needed" >&2; exit 2; }
  mkdir -p "$dir"
  echo "tests/bullmq.sh: installing bullmq@$bullmq ioredis@$ioredis into $dir" >&2
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund "bullmq@$bullmq" "ioredis@$ioredis" >&2)
fi
echo "export OPSDECK_TEST_BULLMQ=$dir"
