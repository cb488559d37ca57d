#!/usr/bin/env bash
# End-to-end test of the containerized stack, driven exactly as a user drives it: the lifecycle
# scripts, curl and httpie. It DELETES the stack's data volume, so it runs only in CI or when
# STARTER_E2E_DELETE_DATA=yes. Needs Docker, curl, httpie (http), jq and prometheus (Debian's package).
set -Eeuo pipefail
cd "$(dirname "$0")/.."

if [[ ${CI:-} != true && ${STARTER_E2E_DELETE_DATA:-} != yes ]]; then
  echo "error: this test deletes the stack's data; run it with STARTER_E2E_DELETE_DATA=yes" >&2
  exit 2
fi

api=http://localhost:5000/api/v1.0/pxcodes
seed_file=../shared/data/starter_pxcodes.sql
passed=0
failed=0
step() { printf '\n== %s\n' "$*"; }
ok() {
  passed=$((passed + 1))
  printf 'ok - %s\n' "$1"
}
not_ok() {
  failed=$((failed + 1))
  printf 'not ok - %s\n' "$1"
}
check() { # description, then a command that must succeed
  local description=$1
  shift
  if "$@"; then ok "$description"; else not_ok "$description"; fi
}
equals() { [[ $1 == "$2" ]] || { printf '   expected: %s\n   got:      %s\n' "$2" "$1"; return 1; }; }
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
seconds_since() { echo $(($(date +%s) - $1)); }
# The API container's address on the stack's network, read each time: a restart may change it.
api_address() { docker inspect --format '{{(index .NetworkSettings.Networks "starter_default").IPAddress}}' starter-api; }
# Containers compose made for the project. Images compose builds carry its project label, so a
# container started from starter/postgres by other means (the tests' testcontainers) has it too;
# only compose's own containers also have the one-off label.
project_containers() { docker ps -aq --filter label=com.docker.compose.project=starter --filter label=com.docker.compose.oneoff; }

# The docs' examples: the fenced block after each <!-- e2e: NAME --> marker in README.md and docs/,
# run as written from the repository's root. httpie reads a stdin that is no terminal as the
# request body, so here it is told not to (a user at a terminal needs nothing).
doc_files=(README.md docs/*.md)
docs_run=()
doc_block() { # NAME: the lines of its block
  awk -v marker="<!-- e2e: $1 -->" '
    $0 == marker { armed = 1; next }
    armed && !inside && /^```/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }' "${doc_files[@]}"
}
doc() { # NAME: runs its block, counts whether it succeeded; what it printed is left in $doc_out
  local code
  docs_run+=("$1")
  doc_out=""
  code=$(doc_block "$1")
  [[ -n $code ]] || { not_ok "docs: a block is marked <!-- e2e: $1 -->"; return 0; }
  if doc_out=$(bash -c 'http() { command http --ignore-stdin "$@"; }; set -eo pipefail; eval "$1"' _ "$code" </dev/null 2>&1); then
    ok "docs: '$1' runs as written"
  else
    not_ok "docs: '$1' runs as written"
    tail -20 <<<"$doc_out" | sed 's/^/   | /'
  fi
}

step "a clean slate"
scripts/cleanupImages.sh --delete-data >/dev/null
check "no starter image is left" equals "$(docker image ls -q 'starter/*')" ""

step "the scripts explain what is missing"
out=$(scripts/resetdb.sh --yes 2>&1) && not_ok "resetdb.sh without a stack fails" || ok "resetdb.sh without a stack fails"
check "  ... and says how to start it" grep -q 'start the stack with scripts/startStack.sh' <<<"$out"
no_docker=$(mktemp -d)
ln -s "$(command -v dirname)" "$no_docker/dirname"
out=$(PATH=$no_docker /bin/bash scripts/startStack.sh 2>&1) && not_ok "without docker, startStack.sh fails" ||
  ok "without docker, startStack.sh fails"
check "  ... and says Docker is not installed" grep -q 'Docker is not installed' <<<"$out"
out=$(scripts/importSql.sh /no/such/file.sql 2>&1) && not_ok "importSql.sh of a missing file fails" || ok "importSql.sh of a missing file fails"
check "  ... naming the file" grep -q "cannot read '/no/such/file.sql'" <<<"$out"
# A fresh clone: no .env, so none of the passwords startStack.sh generates.
fresh=$(mktemp -d)
cp -r scripts docker-compose.yml "$fresh"
check "without .env, teardownStack.sh works" bash -c '"$1"/scripts/teardownStack.sh >/dev/null' _ "$fresh"
check "  ... and stopStack.sh" bash -c '"$1"/scripts/stopStack.sh >/dev/null' _ "$fresh"
# One missing at a time: compose names whichever it meets first, in no fixed order.
out=$(cd "$fresh" && REDIS_PASSWORD=set docker compose up --detach starter-redis 2>&1) && not_ok "plain docker compose up without API_DB_PASSWORD refuses" ||
  ok "plain docker compose up without API_DB_PASSWORD refuses"
check "  ... naming it and startStack.sh" grep -q 'API_DB_PASSWORD.*scripts/startStack.sh' <<<"$out"
out=$(cd "$fresh" && API_DB_PASSWORD=set docker compose up --detach starter-redis 2>&1) &&
  not_ok "  ... and without REDIS_PASSWORD (Redis would run with none)" || ok "  ... and without REDIS_PASSWORD (Redis would run with none)"
check "  ... naming it" grep -q 'REDIS_PASSWORD.*scripts/startStack.sh' <<<"$out"
check "  ... and started nothing" equals "$(docker ps -a --format '{{.Names}}' | grep '^starter-')" ""
rm -rf "$fresh"

step "build"
started=$(date +%s)
scripts/buildImages.sh >/tmp/starter-e2e-build.log 2>&1 || { tail -40 /tmp/starter-e2e-build.log; exit 1; }
echo "buildImages.sh took $(seconds_since "$started")s"
check "three images are built" equals "$(docker image ls --format '{{.Repository}}' 'starter/*' | sort | tr '\n' ' ')" \
  "starter/postgres starter/postgres_datastore starter/starter-api "
check "the final API image holds no build-time CA certificate" \
  docker run --rm --entrypoint sh starter/starter-api -c '! ls /tmp/build-ca* /app/services/api/build-ca 2>/dev/null'
check "the API image runs as a non-root user" equals "$(docker run --rm --entrypoint id starter/starter-api -u)" "1000"

step "start"
env_before=$(cat .env 2>/dev/null || echo none)
out=$(API_BIND=0.0.0.0 scripts/startStack.sh 2>&1) && not_ok "API_BIND=0.0.0.0 with the demo password refuses to start" ||
  ok "API_BIND=0.0.0.0 with the demo password refuses to start"
check "  ... naming ADMIN_PASSWORD and API_BIND" bash -c 'grep -q ADMIN_PASSWORD <<<"$1" && grep -q API_BIND=0.0.0.0 <<<"$1"' _ "$out"
check "  ... and passwd, which changes the password of an existing database" grep -q 'existing database.*passwd admin' <<<"$out"
check "  ... and started nothing" equals "$(docker ps -a --format '{{.Names}}' | grep '^starter-')" ""
check "  ... and changed nothing in .env" equals "$(cat .env 2>/dev/null || echo none)" "$env_before"
started=$(date +%s)
scripts/startStack.sh
echo "startStack.sh took $(seconds_since "$started")s"
check "the API is published on 127.0.0.1 only" equals "$(docker port starter-api 5000)" "127.0.0.1:5000"
check "postgres is published on 127.0.0.1 only" equals "$(docker port starter-postgres 5432)" "127.0.0.1:5432"
members() { docker network inspect "$1" --format '{{range .Containers}}{{.Name}} {{end}}' | tr ' ' '\n' | grep starter- | sort | tr '\n' ' '; }
check "the API and postgres share the network starter_default" equals "$(members starter_default)" "starter-api starter-postgres "
check "the API and redis share the internal network starter_backend" equals "$(members starter_backend)" "starter-api starter-redis "
check "  ... which has no route out" equals "$(docker network inspect starter_backend --format '{{.Internal}}')" true
check "redis is published nowhere" equals "$(docker port starter-redis)" ""
redis_ip=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' starter-redis)
redis_from_host() { exec 3<>"/dev/tcp/$redis_ip/6379" && printf 'PING\r\n' >&3 && timeout 5 head -n 1 <&3 | tr -d '\r'; }
check "redis answers nothing from the host without its password" equals "$(redis_from_host)" "-NOAUTH Authentication required."
check "startStack.sh generated a TOKEN_SECRET into .env" grep -qE '^TOKEN_SECRET=.{32,}' .env
check "  ... an API_DB_PASSWORD and a REDIS_PASSWORD" bash -c 'grep -qE "^API_DB_PASSWORD=.{32}" .env && grep -qE "^REDIS_PASSWORD=.{32}" .env'
check "  ... in a .env only its owner can read" equals "$(stat -c %a .env)" 600

step "the containers are hardened"
hardening() { docker inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}' "$1"; }
limited() { docker inspect --format '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' "$1" | grep -qE '^[1-9][0-9]* [1-9][0-9]*$'; }
check "the API: read-only root, no capabilities, no-new-privileges" equals "$(hardening starter-api)" "true [ALL] [no-new-privileges:true]"
check "  ... memory and pid limits" limited starter-api
check "  ... where only /tmp is writable (not even its home)" docker exec starter-api sh -c 'touch /tmp/x && ! touch "$HOME/x" 2>/dev/null'
check "redis: read-only root, no capabilities, no-new-privileges" equals "$(hardening starter-redis)" "true [ALL] [no-new-privileges:true]"
check "  ... memory and pid limits" limited starter-redis
check "postgres: read-only root, no-new-privileges, only the capabilities its entrypoint needs" equals \
  "$(hardening starter-postgres) $(docker inspect --format '{{.HostConfig.CapAdd}}' starter-postgres)" \
  "true [ALL] [no-new-privileges:true] [CHOWN DAC_OVERRIDE FOWNER SETGID SETUID]"

step "connections through the published port"
# Every client of a published port comes from the bridge's gateway: 150 held at once must all be served.
held_ok=$(node -e '
  const net = require("net");
  const sockets = Array.from({ length: 150 }, () => net.connect(5000, "127.0.0.1"));
  Promise.all(sockets.map((s) => new Promise((ok) => s.once("connect", ok).once("error", ok)))).then(() =>
    Promise.all(sockets.map((s) => new Promise((ok) => {
      let data = ""; s.on("data", (d) => (data += d)).once("close", () => ok(data.startsWith("HTTP/1.1 200"))).once("error", () => ok(false));
      s.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }))).then((served) => console.log(served.filter(Boolean).length)));')
check "150 connections held at once from the host are all served" equals "$held_ok" 150

step "the API's database role"
psql_admin() { docker exec starter-postgres sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" --no-psqlrc -Atc "$1"' _ "$1"; }
api_roles() { # the role and rolsuper of every connection the API container holds
  psql_admin "select distinct a.usename || ' ' || r.rolsuper from pg_stat_activity a join pg_roles r on r.rolname = a.usename
    where a.client_addr = '$(api_address)'"
}
check "the API connects as starter_api, not a superuser" equals "$(api_roles)" "starter_api false"
owners() { psql_admin "select string_agg(distinct pg_get_userbyid(relowner), ',') from pg_class where relnamespace = 'public'::regnamespace"; }
superuser=$(psql_admin 'select current_user')
database_and_schema_owners() { psql_admin "select pg_get_userbyid(d.datdba) || ' ' || pg_get_userbyid(n.nspowner)
  from pg_database d, pg_namespace n where d.datname = current_database() and n.nspname = 'public'"; }
check "  ... which owns the tables and the schema public; the superuser keeps the database" equals \
  "$(owners) $(database_and_schema_owners)" "starter_api $superuser starter_api"
psql_api() { docker exec starter-postgres sh -c 'psql -U starter_api -d "$POSTGRES_DB" --no-psqlrc -Atc "$1"' _ "$1"; }
# A schema named like the superuser would come first in the superuser's default search_path.
out=$(psql_api "CREATE SCHEMA $superuser" 2>&1) && not_ok "  ... and may not create a schema" || ok "  ... and may not create a schema"
check "  ... (permission denied for the database)" grep -q 'permission denied for database' <<<"$out"
check "  ... and may not create roles or databases" equals \
  "$(psql_admin "select rolcreaterole, rolcreatedb from pg_roles where rolname = 'starter_api'")" "f|f"
check "postgres has 256MB of shared buffers (POSTGRES_SHARED_BUFFERS unset: its default, not PostgreSQL's 128MB)" equals "$(psql_admin 'show shared_buffers')" "256MB"

step "the seed's httpie session"
doc seed-session
check "  ... README's session lists the 100 codes and answers a token" equals \
  "$(jq -sc '[(.[0].items | length), (.[1].token | length > 40)]' <<<"$doc_out")" '[100,true]'
body=$(http --ignore-stdin --body --auth admin:admin GET "$api/")
check "the list has the 100 sample codes" equals "$(jq '.items | length' <<<"$body")" 100
check "the meta block is the seed's" equals "$(jq -c .meta <<<"$body")" \
  '{"first":"http://localhost:5000/api/v1.0/pxcodes/?per_page=100&page=1","last":"http://localhost:5000/api/v1.0/pxcodes/?per_page=100&page=1","next":null,"page":1,"pages":1,"per_page":100,"prev":null,"total":100}'
check "the first item is the seed's" equals "$(jq -c '.items[0]' <<<"$body")" \
  '{"procedure":"EXTRACRANIAL PROCEDURES W/O CC/MCC","pxcode":"039","url":"http://localhost:5000/api/v1.0/pxcodes/039"}'

step "CRUD with curl"
doc examples
check "  ... README's examples read, create, patch, replace, page and delete" equals \
  "$(jq -sc '[.[] | .procedure // .meta.page]' <<<"$doc_out")" \
  '["EXTRACRANIAL PROCEDURES W/O CC/MCC","EXAMPLE PROCEDURE","RENAMED PROCEDURE","REPLACED PROCEDURE",3]'
check "  ... and leave nothing behind" equals "$(status_of -u admin:admin "$api/999")" 404
doc cursor
check "  ... api.md's cursor walk sees every code once" equals "$(tr -d ' ' <<<"$doc_out")" 100
doc search
check "  ... api.md's search finds the simple pneumonia codes" equals "$(jq -c '[.items[].pxcode] | sort' <<<"$doc_out")" '["193","194","195"]'
doc csv-export
check "  ... api.md's CSV export holds the header and every code" equals "$(head -1 <<<"$doc_out" | tr -d ' ')" 101
check "  ... and the filtered one its two codes, sorted" equals "$(tail -n +2 <<<"$doc_out" | cut -d, -f1 | tr '\n' ' ')" "pxcode 057 039 "
check "GET an item" equals "$(curl -s -u admin:admin "$api/057" | jq -r .procedure)" "DEGENERATIVE NERVOUS SYSTEM DISORDERS W/O MCC"
check "GET an unknown item is 404" equals "$(status_of -u admin:admin "$api/nope")" 404
first=$(curl -s -u admin:admin -H 'X-Request-Id: e2e-repeat-1' "$api/?per_page=7&page=2")
again=$(curl -s -u admin:admin -H 'X-Request-Id: e2e-repeat-2' "$api/?per_page=7&page=2")
check "a repeated GET answers the same bytes" equals "$again" "$first"
check "  ... from the cache in front of Express (its log line says cached)" \
  bash -c 'for _ in $(seq 50); do # the line is written as the response ends: poll for it
    docker logs starter-api 2>/dev/null | grep "\"id\":\"e2e-repeat-2\"" | grep -q "\"cached\":true" && exit 0
    sleep 0.1
  done; exit 1'
check "no credentials is 401" equals "$(status_of "$api/")" 401
check "a wrong password is 401" equals "$(status_of -u admin:wrong "$api/")" 401
check "POST creates (201)" equals "$(status_of -u admin:admin -H 'Content-Type: application/json' \
  -d '{"pxcode":"E2E1","procedure":"CREATED END TO END"}' "$api/")" 201
check "POST of the same code is 409" equals "$(status_of -u admin:admin -H 'Content-Type: application/json' \
  -d '{"pxcode":"E2E1","procedure":"AGAIN"}' "$api/")" 409
check "PUT replaces" equals "$(curl -s -u admin:admin -X PUT -H 'Content-Type: application/json' \
  -d '{"procedure":"REPLACED END TO END"}' "$api/E2E1" | jq -r .procedure)" "REPLACED END TO END"
check "PATCH with httpie updates" equals "$(http --ignore-stdin --body --auth admin:admin PATCH "$api/E2E1" \
  procedure='PATCHED END TO END' | jq -r .procedure)" "PATCHED END TO END"
check "POST a second code" equals "$(status_of -u admin:admin -H 'Content-Type: application/json' \
  -d '{"pxcode":"E2E2","procedure":"TO BE DELETED"}' "$api/")" 201
check "DELETE is 204" equals "$(status_of -u admin:admin -X DELETE "$api/E2E2")" 204
check "the deleted code is gone" equals "$(status_of -u admin:admin "$api/E2E2")" 404

step "metrics: on the stack's network at 9464, not published"
metrics_at="$(api_address):9464"
check "the metrics port is published nowhere on the host" bash -c '! docker port starter-api | grep -q "^9464/"'
check "  ... and the published API port does not serve them" equals "$(status_of http://localhost:5000/metrics)" 404
check "GET /metrics at the container's address ($metrics_at) passes promtool check metrics" \
  bash -c 'set -o pipefail; curl -sf "http://$1/metrics" | promtool check metrics' _ "$metrics_at"
scrape_out=$(.ci/prometheus-scrape.sh "$metrics_at" 2>&1) || true
check "a Prometheus server scrapes it and answers http_request_duration_seconds_count for the list and items" \
  bash -c 'grep -q "^GET /api/v1.0/pxcodes 200 " <<<"$1" && grep -q "^GET /api/v1.0/pxcodes/:pxcode 404 " <<<"$1"' _ "$scrape_out"
tail -n 12 <<<"$scrape_out" | sed 's/^/   | /'

step "tokens: the seed's httpie session, then curl"
doc tokens
check "  ... api.md's token examples get the item with -u TOKEN:, Bearer and httpie" equals \
  "$(jq -sc '[.[].pxcode]' <<<"$doc_out")" '["039","039","039"]'
seed_token=$(http --ignore-stdin --body --auth admin:admin GET http://localhost:5000/auth/request-token | jq -r .token)
check "httpie: request-token answers a token" test "${#seed_token}" -gt 40
check "httpie: http --auth TOKEN: lists the 100 codes" equals \
  "$(http --ignore-stdin --body --auth "$seed_token:" GET "$api/" | jq '.items | length')" 100
token=$(curl -s -u admin:admin http://localhost:5000/auth/request-token | jq -r .token)
check "curl: request-token answers a token" test "${#token}" -gt 40
check "  ... with Cache-Control: no-cache, no-store, max-age=0" grep -qi '^cache-control: no-cache, no-store, max-age=0' \
  <<<"$(curl -s -D - -o /dev/null -u admin:admin http://localhost:5000/auth/request-token)"
check "curl -u TOKEN: gets an item" equals "$(curl -s -u "$token:" "$api/039" | jq -r .pxcode)" "039"
check "curl with Authorization: Bearer gets an item" equals "$(status_of -H "Authorization: Bearer $token" "$api/039")" 200
signature=${token##*.}
[[ ${signature:0:1} == A ]] && flipped=B || flipped=A
check "a token with a changed signature is 401" equals \
  "$(status_of -H "Authorization: Bearer ${token%.*}.$flipped${signature:1}" "$api/039")" 401
check "/ready reports Redis up" equals "$(curl -s http://localhost:5000/ready | jq -r .redis)" up

step "RATE_LIMIT=5/15s across two API replicas sharing the stack's Redis"
RATE_LIMIT=5/15s scripts/startStack.sh >/dev/null 2>&1
docker rm -f starter-api-2 >/dev/null 2>&1 || true
RATE_LIMIT=5/15s docker compose run --detach --no-deps --name starter-api-2 --publish 127.0.0.1:5001:5000 starter-api serve >/dev/null
for _ in $(seq 100); do [[ $(status_of http://localhost:5001/ready) == 200 ]] && break; sleep 0.2; done
check "the second replica is ready" equals "$(status_of http://localhost:5001/ready)" 200
codes=""
for port in 5000 5001 5000 5001 5000 5001; do
  codes+="$(status_of -H "Authorization: Bearer $token" "http://localhost:$port/api/v1.0/pxcodes/039") "
done
check "five calls pass, the sixth (on either replica) is 429" equals "$codes" "200 200 200 200 200 429 "
headers=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $token" http://localhost:5000/api/v1.0/pxcodes/039)
check "  ... with Retry-After" grep -qi '^retry-after: [0-9]' <<<"$headers"
check "  ... and X-RateLimit-Limit/Remaining/Reset" bash -c 'grep -qi "^x-ratelimit-limit: 5" <<<"$1" &&
  grep -qi "^x-ratelimit-remaining: 0" <<<"$1" && grep -qi "^x-ratelimit-reset: [0-9]\{10\}" <<<"$1"' _ "$headers"
check "  ... and RateLimit-Policy / RateLimit" bash -c 'grep -qi "^ratelimit-policy: \"default\";q=5;w=15" <<<"$1" &&
  grep -qi "^ratelimit: \"default\";r=0;t=[0-9]" <<<"$1"' _ "$headers"
docker rm -f starter-api-2 >/dev/null
sleep 16 # admin's budget is spent: api.md's example starts in a fresh window
doc rate-limit
check "  ... api.md's loop prints five 200s and a 429" grep -q '^200 200 200 200 200 429 $' <<<"$doc_out"
scripts/startStack.sh >/dev/null 2>&1
check "back on the default limit, admin gets through again" equals "$(status_of -u admin:admin "$api/039")" 200

step "data survives stop/start and teardown/start"
scripts/stopStack.sh >/dev/null 2>&1
check "stopStack.sh stops the API" equals "$(docker inspect --format '{{.State.Status}}' starter-api)" exited
scripts/stopStack.sh >/dev/null 2>&1 && ok "stopStack.sh twice is fine" || not_ok "stopStack.sh twice is fine"
scripts/startStack.sh >/dev/null 2>&1
check "after stop/start the created code is there" equals "$(curl -s -u admin:admin "$api/E2E1" | jq -r .procedure)" "PATCHED END TO END"
scripts/teardownStack.sh >/dev/null 2>&1
check "teardownStack.sh removes the containers" equals "$(project_containers)" ""
check "  ... and keeps the data volume" docker volume inspect starter_pgdata
scripts/teardownStack.sh >/dev/null 2>&1 && ok "teardownStack.sh twice is fine" || not_ok "teardownStack.sh twice is fine"
started=$(date +%s)
scripts/startStack.sh >/dev/null 2>&1
echo "startStack.sh (warm, existing data) took $(seconds_since "$started")s"
check "after teardown/start the created code is there" equals "$(curl -s -u admin:admin "$api/E2E1" | jq -r .procedure)" "PATCHED END TO END"
check "  ... and nothing was reloaded (101 codes)" equals "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 101
# Stopped first: a running API would see its database restart under it.
scripts/stopStack.sh >/dev/null 2>&1
POSTGRES_SHARED_BUFFERS=64MB scripts/startStack.sh >/dev/null 2>&1
check "with POSTGRES_SHARED_BUFFERS=64MB, startStack.sh makes postgres again with 64MB of shared buffers" equals "$(psql_admin 'show shared_buffers')" 64MB
check "  ... and the data is kept" equals "$(curl -s -u admin:admin "$api/E2E1" | jq -r .procedure)" "PATCHED END TO END"
scripts/stopStack.sh >/dev/null 2>&1
scripts/startStack.sh >/dev/null 2>&1
check "  ... and without it, 256MB again" equals "$(psql_admin 'show shared_buffers')" 256MB

step "upgrade: a database made when the API connected as the superuser"
# The state the previous version left: everything owned by the superuser, no role starter_api,
# a .env without the generated passwords.
scripts/stopStack.sh >/dev/null 2>&1
docker compose up --detach --wait starter-postgres >/dev/null 2>&1
psql_admin 'REASSIGN OWNED BY starter_api TO CURRENT_USER; DROP OWNED BY starter_api; DROP ROLE starter_api;
  ALTER SCHEMA public OWNER TO pg_database_owner; ALTER ROLE CURRENT_USER IN DATABASE starter RESET search_path' >/dev/null
# An extension's objects are the extension's (fuzzystrmatch: one the API does not make itself); a domain the superuser made is handed over.
psql_admin 'CREATE EXTENSION fuzzystrmatch SCHEMA public; CREATE DOMAIN public.e2e_code AS text' >/dev/null
sed -i '/^API_DB_PASSWORD=/d; /^REDIS_PASSWORD=/d' .env
check "  (the old state: the superuser owns everything)" equals "$(owners)" "$(psql_admin 'select current_user')"
scripts/teardownStack.sh >/dev/null 2>&1
scripts/startStack.sh >/dev/null 2>&1
check "after startStack.sh the data is there" equals "$(curl -s -u admin:admin "$api/E2E1" | jq -r .procedure)" "PATCHED END TO END"
check "  ... the API connects as starter_api, not a superuser" equals "$(api_roles)" "starter_api false"
check "  ... which owns the tables now" equals "$(owners)" starter_api
check "  ... and the schema public, the superuser the database" equals "$(database_and_schema_owners)" "$superuser starter_api"
check "  ... and the domain the superuser made" equals \
  "$(psql_admin "select pg_get_userbyid(typowner) from pg_type where typname = 'e2e_code'")" starter_api
check "  ... but not the functions of the extension pg_trgm" equals "$(psql_admin "select string_agg(distinct
  pg_get_userbyid(p.proowner), ',') from pg_proc p join pg_depend d on d.classid = 'pg_proc'::regclass
  and d.objid = p.oid and d.deptype = 'e'")" "$superuser"
check "  ... and the API writes" equals "$(status_of -u admin:admin -X PATCH -H 'Content-Type: application/json' \
  -d '{"procedure":"UPGRADED"}' "$api/E2E1")" 200

step "upgrade: a database the role starter_api owned (the first version with the role)"
# It could then make a schema named like the superuser, first in the superuser's search_path,
# so the superuser's psql would read (or run) what the role planted there.
psql_admin "ALTER DATABASE starter OWNER TO starter_api; ALTER SCHEMA public OWNER TO pg_database_owner;
  ALTER ROLE CURRENT_USER IN DATABASE starter RESET search_path" >/dev/null
psql_api "CREATE SCHEMA $superuser; CREATE VIEW $superuser.starter_pxcodes AS SELECT 'planted' AS pxcode" >/dev/null
check "  (the old state: the superuser's query reads the planted view)" equals \
  "$(psql_admin 'select pxcode from starter_pxcodes limit 1')" planted
out=$(scripts/startStack.sh 2>&1)
check "after startStack.sh the superuser owns the database, starter_api the schema public" equals \
  "$(database_and_schema_owners)" "$superuser starter_api"
out_create=$(psql_api "CREATE SCHEMA e2e_other" 2>&1) && not_ok "  ... starter_api may not create a schema" ||
  ok "  ... starter_api may not create a schema"
check "  ... the superuser's queries no longer see the planted schema" equals \
  "$(psql_admin 'select count(*) from starter_pxcodes')" 101
check "  ... which startStack.sh names, to be checked and dropped" grep -q "schema $superuser belongs to starter_api" <<<"$out"
check "  ... and the API writes" equals "$(status_of -u admin:admin -X PATCH -H 'Content-Type: application/json' \
  -d '{"procedure":"UPGRADED TWICE"}' "$api/E2E1")" 200
psql_admin "DROP SCHEMA $superuser CASCADE" >/dev/null 2>&1

step "backup and restore, as operations.md shows them"
rm -f starter.dump
doc backup
check "  ... which writes starter.dump" test -s starter.dump
curl -s -o /dev/null -u admin:admin -X DELETE "$api/E2E1"
check "  (a code deleted after the backup)" equals "$(status_of -u admin:admin "$api/E2E1")" 404
doc restore
for _ in $(seq 100); do [[ $(status_of http://localhost:5000/ready) == 200 ]] && break; sleep 0.3; done
check "after the restore the deleted code is back" equals "$(curl -s -u admin:admin "$api/E2E1" | jq -r .procedure)" "UPGRADED TWICE"
check "  ... the count is the backup's (101)" equals "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 101
check "  ... starter_api still owns the tables" equals "$(owners)" starter_api
check "  ... and the API writes" equals "$(status_of -u admin:admin -X PATCH -H 'Content-Type: application/json' \
  -d '{"procedure":"RESTORED"}' "$api/E2E1")" 200
rm -f starter.dump

step "one-off runs: resetdb and the seed's SQL import"
out=$(scripts/resetdb.sh </dev/null 2>&1) && not_ok "resetdb.sh without --yes (no terminal) refuses" ||
  ok "resetdb.sh without --yes (no terminal) refuses"
check "  ... and says to pass --yes" grep -q 'pass --yes to confirm' <<<"$out"
check "  ... and changed nothing" equals "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 101
scripts/resetdb.sh --yes
check "after resetdb.sh --yes the table is empty" equals "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 0
import_counter() { # the container's address now: the steps since the metrics step made it again
  curl -sf "http://$(api_address):9464/metrics" | awk -v name="$1{format=\"sql\"}" '$1 == name { print $2 }'
}
imports_before=$(import_counter starter_imports_total)
rows_before=$(import_counter starter_import_rows_total)
scripts/importSql.sh "$seed_file"
check "importSql.sh imports the seed's file unchanged (100 codes)" equals "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 100
check "  ... and the API's import counters count it: one import, 100 rows" equals \
  "$(($(import_counter starter_imports_total) - ${imports_before:-0})) $(($(import_counter starter_import_rows_total) - ${rows_before:-0}))" "1 100"
out=$(scripts/importSql.sh "$seed_file" 2>&1) && not_ok "importing it again fails" || ok "importing it again fails"
check "  ... saying nothing was imported" grep -q 'nothing of' <<<"$out"
check "  ... and nothing was" equals "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 100
doc one-off-runs
check "  ... operations.md's resetdb and import of the repository's copy give the 100 codes again" equals \
  "$(curl -s -u admin:admin "$api/" | jq .meta.total)" 100

step "SIGTERM stops the API in seconds"
started=$(date +%s%N)
docker stop starter-api >/dev/null
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
echo "docker stop starter-api took ${elapsed_ms} ms"
check "the API stopped in under 5 s" test "$elapsed_ms" -lt 5000
check "  ... with exit code 0" equals "$(docker inspect --format '{{.State.ExitCode}}' starter-api)" 0
check "  ... after draining (its log says so)" grep -q '"msg":"stopped"' <<<"$(docker logs starter-api 2>&1)"

step "cleanup"
scripts/cleanupImages.sh
check "cleanupImages.sh leaves no starter image" equals "$(docker image ls -q 'starter/*')" ""
check "  ... and no container of the project" equals "$(project_containers)" ""
check "  ... and keeps the data unless asked" docker volume inspect starter_pgdata
scripts/cleanupImages.sh >/dev/null && ok "cleanupImages.sh twice is fine" || not_ok "cleanupImages.sh twice is fine"
scripts/cleanupImages.sh --delete-data >/dev/null
check "cleanupImages.sh --delete-data deletes the volume" bash -c '! docker volume inspect starter_pgdata >/dev/null 2>&1'

step "the docs"
marked=$(grep -ho '^<!-- e2e: [a-z0-9-]* -->$' "${doc_files[@]}" | sed 's/^<!-- e2e: \(.*\) -->$/\1/' | sort | tr '\n' ' ')
check "every block marked <!-- e2e: NAME --> in the docs was run, once" equals \
  "$(printf '%s\n' "${docs_run[@]}" | sort | tr '\n' ' ')" "$marked"

printf '\ne2e: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
