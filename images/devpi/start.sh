#!/bin/sh
# A fresh server directory on first start (a copy of the image's devpi-init), then run devpi-server in the foreground.
set -e
serverdir="${DEVPI_SERVERDIR:-/devpi/server}"
[ -e "$serverdir/.nodeinfo" ] || { mkdir -p "$serverdir" && cp -a /opt/devpi/init/root-pypi/. "$serverdir"/; }
exec devpi-server --serverdir "$serverdir" --host 0.0.0.0 --port 3141 "$@"
