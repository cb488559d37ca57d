#!/usr/bin/env bash
# Removes the stack's containers and network. The data stays in its named volume: the next
# startStack.sh finds it again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_docker

log "removing the stack's containers and network"
compose_without_secrets down --remove-orphans
log "the data is kept in volume $data_volume; the images are kept (scripts/cleanupImages.sh removes them)"
