#!/usr/bin/env bash
# Builds the stack's three images: starter/postgres_datastore, starter/postgres, starter/starter-api.
# Behind a TLS-intercepting proxy, NODE_EXTRA_CA_CERTS names the CA bundle npm needs (lib.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_docker

trust_build_ca

log "building ${images[*]}"
compose_without_secrets build

# Rebuilds leave the previous build stages behind, untagged; remove only ours.
log "removing this project's dangling build layers"
docker image prune --force --filter label=org.opencontainers.image.vendor=starter >/dev/null

log "built:"
docker image ls --format '    {{.Repository}}:{{.Tag}}  {{.Size}}' 'starter/*'
