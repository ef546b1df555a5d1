#!/bin/sh
# One-shot (temporalio/admin-tools image): creates Temporal's two databases on PostgreSQL and
# brings their schemas up to the version this admin-tools release ships. Safe to run again on
# every `docker compose up`: an existing database is kept, setup-schema does not downgrade and
# update-schema applies only newer versions.
#
# Reads DB_PORT, POSTGRES_USER, POSTGRES_SEEDS and SQL_PASSWORD (the password
# temporal-sql-tool uses) from docker-compose.yml.
set -eu
echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT ..."
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done

schema_root=/etc/temporal/schema/postgresql/v12
sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"; dir="${pair##*:}"
  if out="$(sql --db "$db" create 2>&1)"; then
    echo "created database $db"
  elif printf '%s' "$out" | grep -qi 'already exists'; then
    echo "database $db already exists"
  else
    printf '%s\n' "$out" >&2
    exit 1
  fi
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$schema_root/$dir/versioned"
done
echo "Temporal schema is up to date"
