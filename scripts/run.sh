#!/usr/bin/env bash
# Sets up, builds an optimised tocsin and runs it with config/tocsin.yml on 127.0.0.1:9093.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTN_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target tocsin
exec ./build/tocsin --config.file=config/tocsin.yml --storage.path=data/ \
  --web.listen-address=127.0.0.1:9093 "$@"
