#!/bin/sh
# Starts pgpass-rotator.lua with the settings of one env file and nothing
# else: the environment is emptied first (env -i), so a DATABRICKS_TOKEN,
# DATABRICKS_AUTH_TYPE or PGPASSFILE left in the caller's shell cannot change
# what the daemon does. The env file holds a secret: it must not be readable
# by group or others (chmod 600).
#
#   run-rotator.sh /etc/lua-databricks/rotator.env
#
# From a checkout (no `luarocks make`), the module is found in ../../lua and
# ../../build. Runs in the foreground: a process supervisor (systemd, runit,
# a container runtime) sends SIGTERM to stop it; exit 0 then.
set -eu
envfile=${1:?usage: run-rotator.sh ENV_FILE}
here=$(cd "$(dirname "$0")" && pwd)

[ -r "$envfile" ] || { echo "run-rotator.sh: cannot read $envfile" >&2; exit 2; }
mode=$(stat -c %a "$envfile" 2>/dev/null || stat -f %Lp "$envfile")
case $mode in
  ?00) ;;
  *) echo "run-rotator.sh: $envfile is mode $mode; it holds a secret: chmod 600 it" >&2; exit 2 ;;
esac

lua_path=${LUA_PATH:-} lua_cpath=${LUA_CPATH:-}
root=$(cd "$here/../.." && pwd)
if [ -z "$lua_path" ] && [ -f "$root/lua/databricks/init.lua" ]; then
  lua_path="$root/lua/?.lua;$root/lua/?/init.lua;;"
  lua_cpath="$root/${DBX_BUILD:-build}/?.so;;"
fi

exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/}" LANG=C.UTF-8 \
  ${lua_path:+LUA_PATH="$lua_path"} ${lua_cpath:+LUA_CPATH="$lua_cpath"} \
  /bin/sh -c 'set -a; . "$1"; set +a; exec lua5.4 "$2"' run-rotator "$envfile" "$here/pgpass-rotator.lua"
