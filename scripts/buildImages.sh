#!/usr/bin/env bash
# Builds the stack's three images: starter/postgres_datastore, starter/postgres, starter/starter-api.
# Behind a TLS-intercepting proxy, NODE_EXTRA_CA_CERTS names the CA bundle that npm needs: it is
# handed to the API image's build stages only, never to the final image.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_docker

ca_copy=services/api/build-ca/build-extra-ca.crt
if [[ -n ${NODE_EXTRA_CA_CERTS:-} ]]; then
  [[ -r $NODE_EXTRA_CA_CERTS ]] || die "NODE_EXTRA_CA_CERTS names $NODE_EXTRA_CA_CERTS, which cannot be read: fix or unset it"
  log "trusting the CA bundle $NODE_EXTRA_CA_CERTS while building (build stages only)"
  cp "$NODE_EXTRA_CA_CERTS" "$ca_copy"
  trap 'rm -f "$repo_root/$ca_copy"' EXIT
fi

log "building ${images[*]}"
compose_without_secrets build

# Rebuilds leave the previous build stages behind, untagged; remove only ours.
log "removing this project's dangling build layers"
docker image prune --force --filter label=org.opencontainers.image.vendor=starter >/dev/null

log "built:"
docker image ls --format '    {{.Repository}}:{{.Tag}}  {{.Size}}' 'starter/*'
