#!/usr/bin/env bash
# Run once by the image's entrypoint on a new cluster: creates the API's role (see api-role.sql).
# Without API_DB_PASSWORD (the image used outside the stack, e.g. by the tests) there is no role to make.
set -Eeuo pipefail
if [[ -z ${API_DB_PASSWORD:-} ]]; then
  echo "API_DB_PASSWORD is not set: no role starter_api (scripts/startStack.sh creates it)"
  exit 0
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" \
  --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
  --file /usr/local/share/starter/api-role.sql
