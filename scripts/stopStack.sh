#!/usr/bin/env bash
# Stops the stack's containers; everything stays as it is for startStack.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_docker

log "stopping the stack"
compose_without_secrets stop
log "stopped; start it again with scripts/startStack.sh"
