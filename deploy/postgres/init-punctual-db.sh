#!/bin/bash
# Creates punctual's ledger database and its owner role. Mounted into the postgres image's
# /docker-entrypoint-initdb.d/, so it runs once: when the data volume is first initialised.
# (Temporal's own databases, `temporal` and `temporal_visibility`, are created by the
# `temporal-schema` one-shot with temporal-sql-tool.)
#
# LEDGER_DB_PASSWORD comes from docker-compose.yml (default `punctual`, a development value:
# set it in the environment or an .env file for anything shared). Changing it later does not
# change the role's password in an existing volume.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v ledger_password="${LEDGER_DB_PASSWORD:?LEDGER_DB_PASSWORD must be set}" <<'SQL'
CREATE ROLE punctual LOGIN PASSWORD :'ledger_password';
CREATE DATABASE punctual OWNER punctual;
SQL
echo "created database punctual (owner punctual)"
