#!/usr/bin/env bash
# The test command README.md gives. On a fresh machine it first installs the
# system packages the tests use (as root, with apt-get) and starts the local
# Postgres and Redis if they are down, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
pg_major=$(basename "$(dirname "${pg_bin:-/x/15/bin}")")
need=()
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need+=("postgresql-$pg_major")
command -v psql >/dev/null || need+=(postgresql-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v keyctl >/dev/null || need+=(keyutils)
command -v runuser >/dev/null || need+=(util-linux)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || need+=(pgbouncer)
command -v npm >/dev/null || need+=(npm)
command -v pgbackrest >/dev/null || need+=(pgbackrest)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
ls /usr/lib/postgresql/"$pg_major"/lib/hypopg.so >/dev/null 2>&1 || need+=("postgresql-$pg_major-hypopg")
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "tests/run.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "tests/run.sh: please install: ${need[*]}" >&2
    exit 2
  fi
fi

# The tests use the machine's Postgres (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$cluster" ] && pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi

# Postgres 13, 17 and 18 and Valkey 8 for tests/matrix.rs, fetched once and cached.
eval "$(bash tests/servers.sh)"
# The real Drizzle migrator for tests/migrations_drizzle.rs, installed once and cached.
eval "$(bash tests/drizzle.sh)"
# The real BullMQ (with ioredis) for tests/jobs_bullmq.rs and benches/jobs_bullmq.rs, installed once and cached.
eval "$(bash tests/bullmq.sh)"
# The real pg-boss and graphile-worker for tests/jobs_pgboss.rs and tests/jobs_graphile.rs.
eval "$(bash tests/jobs_npm.sh)"

exec cargo test --no-fail-fast "$@"
