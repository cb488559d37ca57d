#!/usr/bin/env bash
# DELETES ALL DATA: recreates the tables empty and creates the admin user, in a one-off API
# container on the stack's network. Asks first, unless --yes.
#   scripts/resetdb.sh [--yes]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_docker
require_running starter-postgres

tty=()
[[ -t 0 && -t 1 ]] || tty=(-T)
log "resetting the database through a one-off starter/starter-api container"
# The CLI explains its own failures (such as a missing --yes); pass on its exit code.
compose run --rm --no-deps "${tty[@]}" starter-api resetdb "$@" || exit $?
