#!/usr/bin/env bash
# Sets the number of API replicas of the swarm stack and waits until every one is healthy behind
# the proxy. Scaling down stops replicas gracefully: each finishes its requests first.
# A later deploySwarm.sh goes back to SWARM_API_REPLICAS (3): set that to keep a number.
source "$(dirname "${BASH_SOURCE[0]}")/swarmlib.sh"

usage="usage: $(basename "$0") N   (1 to $max_api_replicas API replicas)"
[[ ${1:-} == -h || ${1:-} == --help ]] && { echo "$usage"; exit 0; }
[[ $# -eq 1 && $1 =~ ^[1-9][0-9]*$ ]] && (($1 <= max_api_replicas)) || die "$usage"
require_swarm
service_exists api || die "the stack '$stack' is not deployed: run scripts/deploySwarm.sh first"

log "scaling ${stack}_api from $(desired_replicas api) to $1 replicas"
since=$(utc_now)
docker service scale --detach "${stack}_api=$1" >/dev/null
wait_for_api "$1" "${STARTER_WAIT_SECONDS:-300}" "$since"
log "$1 API replicas healthy behind the proxy $(proxy_url)"
