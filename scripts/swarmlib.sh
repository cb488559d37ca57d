# shellcheck shell=bash
# Shared by the swarm scripts (deploySwarm.sh, scaleSwarm.sh, removeSwarm.sh): lib.sh's checks,
# plus the stack's name, swarm mode, and the services' state.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stack=$(setting SWARM_STACK starter-swarm)
swarm_port=$(setting SWARM_PORT 5000)
readonly stack swarm_port
readonly stack_file=$repo_root/docker-stack.yml
# The secrets' values (generated, or copied from .env), git-ignored and kept out of build contexts (.env.*), mode 600.
readonly swarm_env=$repo_root/.env.swarm
readonly max_api_replicas=20 # HAProxy's server-template (services/proxy/haproxy.cfg) has this many slots

require_swarm() {
  require_docker
  local state
  state=$(docker info --format '{{.Swarm.LocalNodeState}}')
  [[ $state == active ]] ||
    die "this Docker engine is not in swarm mode (state: $state): on one machine run 'docker swarm init' (add --advertise-addr ADDRESS if it asks which), or join this node to your swarm, then run this again"
  [[ $(docker info --format '{{.Swarm.ControlAvailable}}') == true ]] ||
    die "this node is a swarm worker: run this on a manager node (docker node ls there shows them)"
}

service_exists() { docker service inspect "${stack}_$1" >/dev/null 2>&1; }

# Running tasks of a service's current image; with a health check, a task runs once it is healthy.
running_tasks() {
  local image
  image=$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${stack}_$1" 2>/dev/null) || { echo 0; return; }
  docker service ps --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' "${stack}_$1" 2>/dev/null |
    grep -c "^${image%@*} Running" || true
}

desired_replicas() { docker service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "${stack}_$1"; }

# The state of the service's last update begun since SINCE (utc_now): empty (none),
# updating, completed, rollback_started, rollback_completed, paused...
update_state() { # SERVICE SINCE
  local state started
  read -r state started < <(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.StartedAt}}{{end}}' "${stack}_$1")
  [[ -n ${state:-} && ! ${started:0:19} < ${2:-} ]] && echo "$state" || true
}
utc_now() { date -u '+%F %T'; } # as Go prints the swarm's times

proxy_url() { echo "http://127.0.0.1:$swarm_port"; }

# The distinct replicas (HAProxy server names) that answered /ready through the proxy in N tries.
replicas_behind_proxy() { # TRIES
  local i
  for ((i = 0; i < $1; i++)); do
    curl -s -o /dev/null -D - --max-time 3 "$(proxy_url)/ready" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]erved-[Bb]y: //p'
  done | sort -u | grep -c . || true
}

# Waits until the API has N running tasks, no update under way, and the proxy reaches N replicas;
# fails if an update begun since SINCE was rolled back or paused.
wait_for_api() { # N SECONDS SINCE
  local want=$1 deadline=$((SECONDS + $2)) state
  while ((SECONDS < deadline)); do
    state=$(update_state api "$3")
    case $state in
      rollback_completed | rollback_paused | paused)
        die "the API's update ended '$state': the swarm kept or restored the previous version. Why: docker service ps --no-trunc ${stack}_api; docker service logs ${stack}_api" ;;
    esac
    if [[ $state != updating && $state != rollback_started && $(running_tasks api) -eq $want &&
      $(replicas_behind_proxy $((want * 3))) -eq $want ]]; then
      return 0
    fi
    sleep 1
  done
  docker service ps --no-trunc "${stack}_api" >&2 || true
  docker service logs --tail 20 "${stack}_api" >&2 || true
  die "the API did not reach $want healthy replicas behind the proxy ($(proxy_url)) in $2 s: the tasks and logs above say why (a port taken? set SWARM_PORT; a setting refused? fix it). Then run this again"
}
