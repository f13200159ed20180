#!/bin/sh
# mmdebstrap customize hook for the PostgreSQL image. $1: the root filesystem. Installs the entry
# point: on an empty data directory it makes the cluster (POSTGRES_USER with POSTGRES_PASSWORD,
# the database POSTGRES_DB, password logins over TCP), then runs the server as postgres.
set -eu
root=$1
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
cat >"$root"/usr/local/bin/dpsim-postgres <<'ENTRY'
#!/bin/sh
set -eu
bin=/usr/lib/postgresql/17/bin
data=${PGDATA:-/var/lib/postgresql/data/pgdata}
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pw"
  chown postgres "$pw"
  runuser -u postgres -- "$bin/initdb" -D "$data" -U "$POSTGRES_USER" --pwfile="$pw" -E UTF8 \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
  echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
    runuser -u postgres -- "$bin/postgres" --single -D "$data" postgres >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
ENTRY
chmod 755 "$root"/usr/local/bin/dpsim-postgres
