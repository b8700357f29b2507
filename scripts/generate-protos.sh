#!/usr/bin/env bash
# Regenerates Sources/LoomWire/Generated from Protos/ (the generated Swift is committed, so a build
# needs neither protoc nor the plugins). Needs Debian's protobuf-compiler and the two plugins, built
# from the same versions Package.swift names:
#   swift-protobuf 1.39.0       -> swift build -c release --product protoc-gen-swift
#   grpc-swift-protobuf 2.4.1   -> swift build -c release --product protoc-gen-grpc-swift-2
# Give their folder as PLUGINS (default: /work/protogen/.build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGINS="${PLUGINS:-/work/protogen/.build/release}"
out=Sources/LoomWire/Generated
mkdir -p "$out"
protoc --proto_path=Protos \
    --plugin=protoc-gen-swift="$PLUGINS/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$PLUGINS/protoc-gen-grpc-swift-2" \
    --swift_opt=Visibility=Public,UseAccessLevelOnImports=true --swift_out="$out" \
    --grpc-swift_opt=Visibility=Public,Server=true,Client=true,UseAccessLevelOnImports=true --grpc-swift_out="$out" \
    loom/hub/v1/hub.proto
echo "generated into $out"
