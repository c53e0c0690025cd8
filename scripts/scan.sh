#!/usr/bin/env bash
# Security scanners, as CI runs them: bandit (our code), pip-audit (the locked dependencies) and
# checkov (template.yaml, in its own virtualenv: its pins conflict with aws-sam-cli's).
#
#   scripts/scan.sh                 all three
#   scripts/scan.sh bandit checkov  some of them
#
# Every scanner must pass; a finding is fixed or skipped inline with its reason (bandit:
# "# nosec BXXX - why"; checkov: the resource's Metadata.checkov.skip, with a comment).
# pip-audit needs PyPI's per-release JSON API (https://pypi.org/pypi/<name>/<version>/json). Where
# that API is not reachable nothing can be audited: the scan says so loudly and, unless
# SCAN_REQUIRE_AUDIT=1, carries on (a mirror without it is not a clean bill of health).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
CHECKOV_VERSION=3.3.30
CHECKOV_VENV=.venv-checkov
LOCKS=(requirements-dev.lock layers/core/requirements.txt)

run_bandit() {
    echo "== bandit: layers/core, functions, local (medium and high findings fail)"
    "$BIN/bandit" --quiet --recursive layers/core/bcevents functions local \
        --severity-level medium --confidence-level low --format txt
}

run_audit() {
    local status=0 output
    for lock in "${LOCKS[@]}"; do
        echo "== pip-audit: $lock"
        output=$("$BIN/pip-audit" --requirement "$lock" --no-deps --disable-pip \
            --progress-spinner off 2>&1) || status=$?
        echo "$output"
        if [[ $status -ne 0 ]]; then
            return "$status"
        fi
        if grep -q "could not be audited" <<<"$output"; then
            echo "!! pip-audit could not audit $lock: PyPI's per-release JSON API is not reachable here."
            if [[ "${SCAN_REQUIRE_AUDIT:-0}" == "1" ]]; then
                return 1
            fi
        fi
    done
}

run_checkov() {
    if ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
        echo "== creating $CHECKOV_VENV with checkov $CHECKOV_VERSION"
        "$BIN/uv" venv --quiet --allow-existing --python "$BIN/python" "$CHECKOV_VENV"
        "$BIN/uv" pip install --quiet --python "$CHECKOV_VENV/bin/python" "checkov==$CHECKOV_VERSION"
    fi
    echo "== checkov $CHECKOV_VERSION: template.yaml"
    # BC_SKIP_MAPPING and --skip-download: no call home to the vendor's API (offline, and private).
    BC_SKIP_MAPPING=TRUE "$CHECKOV_VENV/bin/checkov" --file template.yaml --framework cloudformation \
        --quiet --compact --skip-download
}

scanners=("$@")
if [[ ${#scanners[@]} -eq 0 ]]; then
    scanners=(bandit audit checkov)
fi
failed=()
for scanner in "${scanners[@]}"; do
    case "$scanner" in
        bandit | audit | checkov) "run_$scanner" || failed+=("$scanner") ;;
        *) echo "unknown scanner: $scanner (bandit, audit, checkov)" >&2; exit 2 ;;
    esac
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "scan failed: ${failed[*]}" >&2
    exit 1
fi
echo "scan passed: ${scanners[*]}"
