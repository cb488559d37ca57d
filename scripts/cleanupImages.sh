#!/usr/bin/env bash
# Removes the stack's containers, network and images, and this project's dangling build layers.
# The data volume is deleted only with --delete-data.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

delete_data_option "$@"
require_docker

log "removing the stack's containers and network"
compose_without_secrets down --remove-orphans

for image in "${images[@]}"; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "removing image $image"
    docker image rm "$image" >/dev/null
  fi
done
log "removing this project's dangling build layers"
docker image prune --force --filter label=org.opencontainers.image.vendor=starter >/dev/null

if [[ $delete_data == true ]]; then
  if docker volume inspect "$data_volume" >/dev/null 2>&1; then
    log "deleting the data volume $data_volume (every pxcode and user)"
    docker volume rm "$data_volume" >/dev/null
  fi
elif docker volume inspect "$data_volume" >/dev/null 2>&1; then
  log "the data is kept in volume $data_volume; to delete it too: $(basename "$0") --delete-data"
fi
log "clean"
