#!/usr/bin/env bash
# The project's test command.
#   bash tools/test.sh          the default suite: static checks, then unit, mock and real-server tests (a few minutes)
#   bash tools/test.sh TIER...  slow tiers, each with its own system setup: image, prometheus, cluster, engine, fuzz
#   bash tools/test.sh all      the default suite, then every slow tier (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
# .ci/run sets MLSTACK_SETUP_DONE once it has run setup, so the tiers it runs side by side do not repeat it.
[ "${MLSTACK_SETUP_DONE:-}" = 1 ] || bash tools/setup.sh
pytest=(.venv/bin/python -m pytest)

run_tier() {
  case "$1" in
    default) bash tools/lint.sh && "${pytest[@]}" \
               && "$(bash tools/cached-venv.sh policy-venv policy/requirements-test.txt policy/constraints.txt)" -m pytest policy/tests ;;
    image) bash tools/image/setup.sh && "${pytest[@]}" -m image ;;
    prometheus) bash tools/prometheus/install.sh && "${pytest[@]}" -m prometheus ;;
    cluster) (source tools/engine/paths.sh && ENGINE_COMPONENTS=$ENGINE_CONTROL_PLANE bash tools/engine/build.sh) \
               && "${pytest[@]}" -m cluster ;;
    engine) bash tools/engine/build.sh && "${pytest[@]}" -m engine ;;
    fuzz) "${pytest[@]}" -m fuzz ;;
    *) echo "unknown tier: $1 (default, image, prometheus, cluster, engine, fuzz, all)" >&2; return 2 ;;
  esac
}

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(default)
[ "${tiers[*]}" != all ] || tiers=(default image prometheus cluster engine fuzz)
for tier in "${tiers[@]}"; do
  echo "== tier: $tier"
  run_tier "$tier"
done
