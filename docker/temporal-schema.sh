#!/bin/sh
# Creates Temporal's two databases if they are missing and brings their schemas to the server's version, with the
# SQL tool of the admin-tools image and the schemas it embeds: the same steps as temporal-config/server-schema.ts.
# Every step is idempotent, so the compose file runs it on every `up`; the tool reads SQL_HOST, SQL_PORT, SQL_USER
# and SQL_PASSWORD from the environment.
set -eu
setup() {
  temporal-sql-tool --plugin postgres12 --database "$1" create-database
  temporal-sql-tool --plugin postgres12 --database "$1" setup-schema --version 0.0
  temporal-sql-tool --plugin postgres12 --database "$1" update-schema --schema-name "$2"
}
setup "${TEMPORAL_DB_NAME:-temporal}" postgresql/v12/temporal
setup "${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility}" postgresql/v12/visibility
