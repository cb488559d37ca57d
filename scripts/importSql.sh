#!/usr/bin/env bash
# Imports a SQL file (such as the seed's starter_pxcodes.sql) with psql, in a one-off
# starter/postgres container on the stack's network, in one transaction: all or nothing.
#   scripts/importSql.sh FILE
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $(basename "$0") FILE.sql"
file=$1
[[ -f $file && -r $file ]] || die "cannot read '$file': give the path of a SQL file"
require_docker
require_running starter-postgres

log "importing $file with psql (one transaction)"
# The file goes in on stdin, so it needs no mount. It runs as the API's role, not the superuser:
# what it creates belongs to the API, and it can do no more than the API could. In the same
# transaction, the import is recorded with the rows it added (the API's import counters read it).
record_import() {
  echo "SELECT total AS starter_rows_before FROM starter_pxcodes_state \\gset"
  cat "$file"
  # A ; ends a last statement the file left open; the file may have set its own search_path.
  printf '\n;\nRESET search_path;\n%s\n' "INSERT INTO starter_imports (format, rows_read, rows_written)
    SELECT 'sql', added, added FROM (SELECT greatest(total - :starter_rows_before, 0) AS added FROM starter_pxcodes_state FOR UPDATE) AS import;"
}
if ! record_import | compose run --rm --no-deps -T starter-postgres sh -c \
  'PGPASSWORD="$API_DB_PASSWORD" exec psql -h starter-postgres -U starter_api -d "$POSTGRES_DB" \
     --no-psqlrc --quiet --set ON_ERROR_STOP=1 --single-transaction --file -'; then
  die "the import failed and nothing of '$file' was imported (psql's message is above)"
fi
rows=$(compose exec -T starter-postgres sh -c \
  'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" --no-psqlrc --tuples-only --no-align --command "select count(*) from starter_pxcodes"')
log "imported $file; starter_pxcodes now has $rows rows"
