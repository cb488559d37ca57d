#!/usr/bin/env bash
# Removes the swarm stack: its services, networks and secrets (their values stay in .env.swarm or
# wherever they were set). The data volume is kept unless --delete-data; images are kept.
source "$(dirname "${BASH_SOURCE[0]}")/swarmlib.sh"

delete_data_option "$@"
require_swarm

stack_containers() { docker ps -aq --filter "label=com.docker.stack.namespace=$stack"; }
if [[ -n $(docker stack ls --format '{{.Name}}' | grep -Fx "$stack" || true) ]]; then
  log "removing the stack '$stack' (its replicas stop gracefully)"
  docker stack rm "$stack" >/dev/null
fi
# docker stack rm returns at once; secrets, networks and the volume are free once the containers are gone.
for _ in $(seq 120); do
  [[ -z $(stack_containers) && -z $(docker network ls -q --filter "label=com.docker.stack.namespace=$stack") ]] && break
  sleep 1
done
[[ -z $(stack_containers) ]] || die "the stack's containers are still there after 2 minutes (docker ps -a --filter label=com.docker.stack.namespace=$stack): wait, then run this again"

for secret in $(docker secret ls -q --filter "label=starter.stack=$stack"); do
  docker secret rm "$secret" >/dev/null
done
log "removed the stack's secrets (deploySwarm.sh makes them again from the same values)"

volume=${stack}_pgdata
if [[ $delete_data == true ]]; then
  if docker volume inspect "$volume" >/dev/null 2>&1; then
    log "deleting the data volume $volume (every pxcode and user)"
    docker volume rm "$volume" >/dev/null
  fi
elif docker volume inspect "$volume" >/dev/null 2>&1; then
  log "the data is kept in volume $volume; to delete it too: $(basename "$0") --delete-data"
fi
log "removed"
