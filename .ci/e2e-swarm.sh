#!/usr/bin/env bash
# End-to-end test of the swarm stack (docker-stack.yml) through its scripts, on a single-node
# swarm it starts (and leaves at the end if it started it). A bounded load of reads and writes
# (.ci/swarm-load.js) runs against the proxy during each step; each step prints its counts.
# It DELETES the swarm stack's data volume, so it runs only in CI or when
# STARTER_E2E_DELETE_DATA=yes. Needs Docker, curl, httpie (http), jq and node.
# SWARM_PORT (default 5000) is the proxy's port.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

if [[ ${CI:-} != true && ${STARTER_E2E_DELETE_DATA:-} != yes ]]; then
  echo "error: this test deletes the swarm stack's data; run it with STARTER_E2E_DELETE_DATA=yes" >&2
  exit 2
fi
export SWARM_PORT=${SWARM_PORT:-5000} SWARM_STACK=${SWARM_STACK:-starter-swarm}
# The load spends any per-user budget in a second: no rate limit but in step 5, which sets one.
export RATE_LIMIT=
source scripts/swarmlib.sh
trap - ERR
set +e +o pipefail # a failed check is counted, not fatal
url=$(proxy_url)
api=$url/api/v1.0/pxcodes
test_started=$SECONDS

passed=0
failed=0
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - test_started))"; }
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'not ok - %s\n' "$1"; }
check() { # description, then a command that must succeed
  local description=$1
  shift
  if "$@"; then ok "$description"; else not_ok "$description"; fi
}
equals() { [[ $1 == "$2" ]] || { printf '   expected: %s\n   got:      %s\n' "$2" "$1"; return 1; }; }
at_most() { (($1 <= $2)) || { printf '   %s is over %s\n' "$1" "$2"; return 1; }; }
wait_until() { # SECONDS, then a command: polls it every second
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 1; done
}
api_containers() { docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_api"; }
api_logs() { local c; for c in $(docker ps -aq --filter "label=com.docker.swarm.service.name=${stack}_api"); do docker logs "$c" 2>&1; done; }
psql_admin() {
  docker exec "$(docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_postgres" | head -n 1)" \
    sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" --no-psqlrc -Atc "$1"' _ "$1"
}
api_image() { docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${stack}_api"; }
healthy() { (($(running_tasks api) == $1)) && (($(replicas_behind_proxy $(($1 * 3))) == $1)); }
total() { curl -s -H "Authorization: Bearer $token" "$api/?per_page=1" | jq .meta.total; }

# --- the load ---------------------------------------------------------------------------------
load_out=$(mktemp)
load_pid=
load_start() { # PREFIX
  node .ci/swarm-load.js "$url" "$token" "$1" 300 >"$load_out" &
  load_pid=$!
  sleep 3 # some traffic before the step's event
}
load_stop() { # prints the counts; leaves them in $load
  [[ -n $load_pid ]] && kill -TERM "$load_pid" 2>/dev/null
  wait "$load_pid" 2>/dev/null
  load_pid=
  load=$(cat "$load_out")
  jq -r '"   load: \(.requests) requests, \(.failures) failed (\(.readFailures) reads, \(.writeFailures) writes), \(.acknowledged) acknowledged writes, \(.lost) lost" + (if (.samples | length) > 0 then "\n   samples: " + (.samples | join("; ")) else "" end)' <<<"$load" ||
    echo "   load: no counts ($load)"
}
count() { jq -r ".$1 // -1" <<<"$load"; }

# --- the swarm, and what is left at the end -------------------------------------------------------
started_swarm=false
cleanup() {
  [[ -n $load_pid ]] && kill -TERM "$load_pid" 2>/dev/null
  scripts/removeSwarm.sh --delete-data >/dev/null 2>&1
  docker image ls --format '{{.Repository}}:{{.Tag}}' 'starter-swarm/*' | xargs -r docker image rm >/dev/null 2>&1
  [[ $started_swarm == true ]] && docker swarm leave --force >/dev/null 2>&1
  rm -f "$load_out" "$swarm_env"
  if [[ $had_env == true ]]; then mv "$env_aside" .env; else rm -f .env; fi
}
# The compose stack's .env is set aside in the repo meanwhile (git- and docker-ignored): every
# secret of this run is the swarm's own. One left by a run that was killed is never overwritten.
env_aside=.env.swarm-e2e-aside
had_env=false
if [[ -e $env_aside ]]; then
  echo "$env_aside exists: a killed run set .env aside there; move it back to .env (or delete it), then run this again" >&2
  exit 1
fi
trap cleanup EXIT
if [[ -f .env ]]; then mv .env "$env_aside" && had_env=true; fi
if [[ $(docker info --format '{{.Swarm.LocalNodeState}}') != active ]]; then
  docker swarm init >/dev/null 2>&1 || docker swarm init --advertise-addr "$(hostname -I | awk '{print $1}')" >/dev/null
  started_swarm=true
fi

step "1. deploy from scratch"
scripts/removeSwarm.sh --delete-data >/dev/null 2>&1
rm -f "$swarm_env"
# One secret from .env: it must be kept in .env.swarm (step 3 deploys without it in .env).
(umask 077 && printf 'POSTGRES_PASSWORD=from-dotenv-first-deploy\n' >.env)
started=$SECONDS
scripts/deploySwarm.sh >/tmp/starter-swarm-deploy.log 2>&1 || tail -40 /tmp/starter-swarm-deploy.log
echo "deploySwarm.sh took $((SECONDS - started))s"
rm -f .env
check "a secret's value taken from .env is kept in .env.swarm" equals "$(sed -n 's/^POSTGRES_PASSWORD=//p' "$swarm_env")" from-dotenv-first-deploy
check "3 of 3 API replicas are running and healthy" equals "$(running_tasks api)" 3
check "  ... and the proxy reaches all 3" equals "$(replicas_behind_proxy 9)" 3
check "the generated secrets are in .env.swarm, mode 600" equals "$(stat -c %a "$swarm_env")" 600
check "  ... and never in the deploy's output" bash -c '! grep -qF "$(sed -n "s/^ADMIN_PASSWORD=//p" "$1")" /tmp/starter-swarm-deploy.log' _ "$swarm_env"
password=$(sed -n 's/^ADMIN_PASSWORD=//p' "$swarm_env")
session=$(http --ignore-stdin --body --auth "admin:$password" GET "$api/" && http --ignore-stdin --body --auth "admin:$password" GET "$url/auth/request-token")
check "the seed's httpie session answers through the proxy: 100 codes and a token" equals \
  "$(jq -sc '[(.[0].items | length), (.[1].token | length > 40)]' <<<"$session")" '[100,true]'
token=$(jq -sr '.[1].token' <<<"$session")
migrations=$(find services/api/src/db/migrations -name '2*.ts' | wc -l)
check "the migrations table has one row per migration ($migrations)" equals \
  "$(psql_admin 'select count(*) || $$ $$ || count(distinct name) from knex_migrations')" "$migrations $migrations"
check "postgres has 256MB of shared buffers (POSTGRES_SHARED_BUFFERS unset: its default)" equals "$(psql_admin 'show shared_buffers')" "256MB"
check "one replica migrated, one seeded, none failed to start" equals \
  "$(api_logs | grep -c '"msg":"migrated the database"') $(api_logs | grep -c 'new database: created the admin user') $(api_logs | grep -c 'cannot start\|starter: failed')" "1 1 0"
check "the proxy forwards the client's address, which the API trusts from the proxy's network only" equals \
  "$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' "${stack}_api" | sed -n 's/^TRUST_PROXY=//p')" \
  "$(docker network inspect --format '{{(index .IPAM.Config 0).Subnet}}' "${stack}_edge")"
load_start s1
load_stop
check "  load: no failed request" equals "$(count failures)" 0
check "  every acknowledged write reads back" equals "$(count lost)" 0

step "2. docker kill of one API task"
load_start s2
victim=$(api_containers | head -n 1)
docker kill "$victim" >/dev/null
check "the swarm brings the replica back: 3 healthy behind the proxy" wait_until 120 healthy 3
load_stop
check "  no failed read" equals "$(count readFailures)" 0
check "  at most the writes in flight on that task failed (2 writers)" at_most "$(count writeFailures)" 2
check "  every acknowledged write reads back" equals "$(count lost)" 0

step "3. rolling update to a new image tag (deploySwarm.sh builds one)"
before=$(api_image)
# As if startStack.sh had generated its own passwords into .env meanwhile: .env.swarm's win.
(umask 077 && printf 'API_DB_PASSWORD=from-startStack\nREDIS_PASSWORD=from-startStack\n' >.env)
load_start s3
scripts/deploySwarm.sh >/tmp/starter-swarm-deploy.log 2>&1 || tail -40 /tmp/starter-swarm-deploy.log
load_stop
rm -f .env
check "passwords startStack.sh wrote into .env meanwhile, or one gone from it, do not stop the deploy (.env.swarm's win)" bash -c '! grep -q "holds another value" /tmp/starter-swarm-deploy.log'
check "the API runs a new tag" bash -c '[[ $1 != "$2" && $(docker service ps --filter desired-state=running --format "{{.Image}}" "$3" | sort -u) == "$2" ]]' _ "$before" "$(api_image)" "${stack}_api"
check "  zero failed requests" equals "$(count failures)" 0
check "  every acknowledged write reads back" equals "$(count lost)" 0

step "4. update to an image whose health check fails: the swarm rolls back"
good=$(api_image)
printf 'FROM %s\nHEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD ["false"]\n' "$good" |
  docker build -q -t "${good%%:*}:unhealthy" - >/dev/null 2>&1
check "an image whose health check fails is built (so a rollback is the check's doing)" bash -c 'docker image inspect "$1" >/dev/null 2>&1' _ "${good%%:*}:unhealthy"
since=$(utc_now)
load_start s4
docker service update --detach --image "${good%%:*}:unhealthy" "${stack}_api" >/dev/null 2>&1
rolled_back() { [[ $(update_state api "$since") == rollback_completed ]]; }
check "the update is rolled back by the swarm" wait_until 240 rolled_back
check "  ... and 3 replicas are healthy again" wait_until 120 healthy 3
load_stop
check "  the old tag serves" equals "$(docker service ps --filter desired-state=running --format '{{.Image}}' "${stack}_api" | sort -u)" "$good"
check "  zero failed requests" equals "$(count failures)" 0
check "  every acknowledged write reads back" equals "$(count lost)" 0
docker image rm "${good%%:*}:unhealthy" >/dev/null 2>&1

step "5. RATE_LIMIT=5/15s, shared by the replicas (no load: it would spend the budget)"
RATE_LIMIT=5/15s scripts/deploySwarm.sh >/tmp/starter-swarm-deploy.log 2>&1 || tail -40 /tmp/starter-swarm-deploy.log
codes="" servers=""
for _ in 1 2 3 4 5 6; do
  answer=$(curl -s -o /dev/null -D - -H "Authorization: Bearer $token" "$api/039" | tr -d '\r')
  codes+="$(sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$answer") "
  servers+="$(sed -n 's/^[Xx]-[Ss]erved-[Bb]y: //p' <<<"$answer") "
done
check "five calls pass, the sixth is 429" equals "$codes" "200 200 200 200 200 429 "
check "  ... answered by more than one replica ($servers)" bash -c '(($(tr " " "\n" <<<"$1" | sort -u | grep -c .) > 1))' _ "$servers"
other=$(hostname -I | awk '{print $1}')
anonymous=""
for _ in 1 2 3 4 5 6; do anonymous+="$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.9' "$api/039") "; done
check "without credentials, one address: five 401s, then 429 (a forged X-Forwarded-For changes nothing)" equals "$anonymous" "401 401 401 401 401 429 "
check "  ... another client address ($other) is counted apart" equals \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://$other:$SWARM_PORT/api/v1.0/pxcodes/039")" 401
scripts/deploySwarm.sh >/tmp/starter-swarm-deploy.log 2>&1 || tail -40 /tmp/starter-swarm-deploy.log
check "  back without the limit: calls pass" equals "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$api/039")" 200

step "6. scale 3 -> 1 -> 3 under load"
load_start s6
scripts/scaleSwarm.sh 1 >/tmp/starter-swarm-scale.log 2>&1 || tail -20 /tmp/starter-swarm-scale.log
check "1 replica" equals "$(running_tasks api)" 1
scripts/scaleSwarm.sh 3 >/tmp/starter-swarm-scale.log 2>&1 || tail -20 /tmp/starter-swarm-scale.log
# A replica's check may flap on a busy node: the proxy must reach all 3 within a minute.
check "3 replicas, all behind the proxy" wait_until 60 healthy 3
load_stop
check "  zero failed requests" equals "$(count failures)" 0
check "  every acknowledged write reads back" equals "$(count lost)" 0

step "7. removeSwarm.sh, then deploySwarm.sh: the data is kept"
kept=$(total)
scripts/removeSwarm.sh >/dev/null 2>&1
check "removeSwarm.sh removes the services" equals "$(docker service ls -q --filter "label=com.docker.stack.namespace=$stack")" ""
check "  ... and keeps the volume" bash -c 'docker volume inspect "$1" >/dev/null' _ "${stack}_pgdata"
scripts/deploySwarm.sh >/tmp/starter-swarm-deploy.log 2>&1 || tail -40 /tmp/starter-swarm-deploy.log
check "after deploySwarm.sh the codes are all there ($kept)" equals "$(total)" "$kept"
check "  ... and nothing was reloaded (no new seeding)" equals "$(api_logs | grep -c 'new database: created the admin user')" 0

echo "e2e-swarm took $((SECONDS - test_started))s"
check "the swarm test took under ten minutes" at_most "$((SECONDS - test_started))" 600
printf '\nswarm: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
