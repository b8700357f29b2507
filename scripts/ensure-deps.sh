#!/usr/bin/env bash
# Installs what Loom needs on a Debian machine with Swift: the system Lua 5.4 (liblua5.4-dev),
# SQLite (libsqlite3-dev, for GRDB), luacheck (lua-check, for the Lua lint) and Erlang/OTP
# (erlang-base: erl and erlc, for `loom bench runtime --peer erlang` and its tests).
# Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
pkg-config --exists lua5.4 2>/dev/null || need+=(liblua5.4-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v luacheck >/dev/null 2>&1 || need+=(lua-check)
{ command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1; } || need+=(erlang-base)

if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get install -y "${need[@]}" >/dev/null 2>&1 || {
        "${sudo_cmd[@]}" apt-get update >/dev/null
        "${sudo_cmd[@]}" apt-get install -y "${need[@]}"
    }
fi
pkg-config --exists lua5.4 || { echo "error: pkg-config cannot find lua5.4 after installing liblua5.4-dev" >&2; exit 1; }
command -v swift >/dev/null 2>&1 || { echo "error: swift is not on PATH (install Swift 6.2 or later)" >&2; exit 1; }
