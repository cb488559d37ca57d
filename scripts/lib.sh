# shellcheck shell=bash
# Shared by the lifecycle scripts: strict mode, the repo root as working folder, and the checks
# every script makes before it touches Docker.
set -Eeuo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

readonly images=(starter/postgres_datastore starter/postgres starter/starter-api)
readonly data_volume=starter_pgdata

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
trap 'rc=$?; printf "error: %s: \"%s\" failed (exit %s)\n" "${0##*/}" "$BASH_COMMAND" "$rc" >&2' ERR

require_docker() {
  command -v docker >/dev/null 2>&1 ||
    die "Docker is not installed: install Docker Engine (https://docs.docker.com/engine/install/), then run this again"
  docker info >/dev/null 2>&1 ||
    die "the Docker engine does not answer: start it (e.g. 'sudo systemctl start docker') and check that you may use it ('docker info')"
  docker compose version >/dev/null 2>&1 ||
    die "Docker Compose v2 ('docker compose') is missing: install the Compose plugin (package docker-compose-plugin)"
}

compose() { docker compose --project-directory "$repo_root" --file "$repo_root/docker-compose.yml" "$@"; }

container_state() { docker inspect --format '{{.State.Status}}' "$1" 2>/dev/null || echo missing; }

require_running() { # service...
  local service
  for service in "$@"; do
    [[ $(container_state "$service") == running ]] ||
      die "$service is not running: start the stack with scripts/startStack.sh"
  done
}

missing_images() {
  local image
  for image in "${images[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || echo "$image"
  done
}
