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

# Behind a TLS-intercepting proxy, NODE_EXTRA_CA_CERTS names the CA bundle that npm needs: it is
# handed to the API image's build stages only (services/api/Dockerfile), never to the final image.
trust_build_ca() {
  [[ -n ${NODE_EXTRA_CA_CERTS:-} ]] || return 0
  [[ -r $NODE_EXTRA_CA_CERTS ]] || die "NODE_EXTRA_CA_CERTS names $NODE_EXTRA_CA_CERTS, which cannot be read: fix or unset it"
  log "trusting the CA bundle $NODE_EXTRA_CA_CERTS while building (build stages only)"
  cp "$NODE_EXTRA_CA_CERTS" services/api/build-ca/build-extra-ca.crt
  trap 'rm -f "$repo_root/services/api/build-ca/build-extra-ca.crt"' EXIT
}

# The scripts that remove the stack take one option; sets delete_data to true or false.
delete_data_option() { # "$@"
  delete_data=false
  local arg
  for arg in "$@"; do
    case $arg in
      --delete-data) delete_data=true ;;
      -h | --help)
        echo "usage: $(basename "$0") [--delete-data]   (--delete-data also deletes every pxcode and user)"
        exit 0
        ;;
      *) die "unknown option '$arg': the only option is --delete-data" ;;
    esac
  done
}

compose() { docker compose --project-directory "$repo_root" --file "$repo_root/docker-compose.yml" "$@"; }

# A setting as compose sees it: the environment first, then .env (quotes and a trailing comment removed).
env_file_value() { # NAME
  [[ -f .env ]] || return 0
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" .env | tail -n 1 |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e "s/^'\(.*\)'$/\1/" -e 's/^"\(.*\)"$/\1/'
}
setting() { # NAME DEFAULT
  local value=${!1:-}
  [[ -n $value ]] || value=$(env_file_value "$1")
  echo "${value:-$2}"
}

# Compose reads the whole file for any command, and the file requires the generated passwords.
# Building, stopping and removing use none, so a placeholder stands in for one not set yet
# (a teardown before the first start, a .env without them); it never reaches a container.
compose_without_secrets() {
  local name placeholders=()
  for name in API_DB_PASSWORD REDIS_PASSWORD; do
    [[ -n $(setting "$name" "") ]] || placeholders+=("$name=unused")
  done
  (
    [[ ${#placeholders[@]} -eq 0 ]] || export "${placeholders[@]}"
    compose "$@"
  )
}

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
