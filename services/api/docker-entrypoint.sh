#!/bin/sh
# The CLI's commands (and options) run the CLI; anything else runs as given, e.g. `sh` for a shell.
set -e
case "${1:-serve}" in
  serve | migrate | resetdb | adduser | passwd | deluser | import | seed | help | -*)
    exec node /app/services/api/dist/cli.js "$@" ;;
esac
exec "$@"
