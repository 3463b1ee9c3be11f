#!/bin/sh
# First start of the docker-compose PostgreSQL (docker-entrypoint-initdb.d): create Rivet's
# roles and schemas (roles.sql) in $POSTGRES_DB, then set each role's password from
# RIVET_DB_PASSWORD_<SERVICE>. Runs only when the data volume is new; for an existing volume,
# run roles.sql by hand (docs/operations.md).
set -eu

roles_sql=${RIVET_ROLES_SQL:-/rivet/roles.sql}
suffix=${RIVET_ROLE_SUFFIX:-} # as rivet.role_suffix in roles.sql (several deployments, one cluster)
export PGOPTIONS="${PGOPTIONS:-} -c rivet.role_suffix=$suffix"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$roles_sql"

for service in auth assets workorders ocr telegram maintenance integrations attachments; do
    upper=$(echo "$service" | tr '[:lower:]' '[:upper:]')
    password=$(printenv "RIVET_DB_PASSWORD_$upper" || true)
    if [ -n "$password" ]; then
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
            -v role="rivet_$service$suffix" -v password="$password" <<'SQL'
ALTER ROLE :"role" PASSWORD :'password';
SQL
    fi
done
