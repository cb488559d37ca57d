#!/usr/bin/env bash
# Starts the stack (building any missing image) and waits until the API is healthy. On a new
# database the API migrates it and loads the sample data and the admin user; an existing
# database is only migrated, never wiped.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_docker

if [[ -n $(missing_images) ]]; then
  log "images missing: $(missing_images | tr '\n' ' ')- building them"
  "$repo_root/scripts/buildImages.sh"
fi

log "starting the stack (project 'starter'; data in volume $data_volume)"
if ! compose up --detach --wait --wait-timeout "${STARTER_WAIT_SECONDS:-180}"; then
  compose ps --all >&2 || true
  compose logs --tail 30 starter-postgres starter-api >&2 || true
  die "the stack did not become healthy (logs above). A port taken? Set API_PORT or POSTGRES_PORT in .env. Then run this again"
fi

published=$(compose port starter-api 5000)
url="http://localhost:${published##*:}"
user=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' starter-api | sed -n 's/^ADMIN_USERNAME=//p')
log "the API is up: $url/api/v1.0/pxcodes/"
cat <<MSG
    curl -u ${user:-admin}:PASSWORD $url/api/v1.0/pxcodes/
    http --auth ${user:-admin}:PASSWORD GET $url/api/v1.0/pxcodes/
    (the demo password is 'admin' unless ADMIN_PASSWORD was set in .env when the database was new)
MSG
