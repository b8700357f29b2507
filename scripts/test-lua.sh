#!/usr/bin/env bash
# The Lua side: luacheck and loom check over Skills/ and Examples/, the example lock file, then
# `loom test` over them. The apprentice's
# ancestor arrives as a bundle, so this builds, trusts and installs mentor's first (idempotent;
# the keys and the installation live in the nodes' .loom folders, which git ignores).
set -euo pipefail
cd "$(dirname "$0")/.."
loom=.build/debug/loom
[ -x "$loom" ] || swift build --product loom
luacheck --quiet Skills Examples
"$loom" check Skills >/dev/null
"$loom" check Examples >/dev/null
"$loom" resolve Examples/child --locked   # the committed loom.lock matches the skills
[ -f Examples/mentor/.loom/identity/node.key ] || "$loom" keys init Examples/mentor >/dev/null
"$loom" bundle Examples/mentor -o .build/mentor.loombundle >/dev/null
"$loom" trust add Examples/remote/apprentice mentor "$("$loom" keys show Examples/mentor | head -1)" >/dev/null
"$loom" install .build/mentor.loombundle --node Examples/remote/apprentice --allow-downgrade >/dev/null
"$loom" test Skills Examples
swift package loom-check >/dev/null   # the SwiftPM plugin over Skills/
