#!/usr/bin/env bash
# Retire an old API-key pepper version: the separate, explicit last step of a rotation
# (infra/README.md, Pepper rotation). Refuses while the deployed function still uses the
# version, or while live keys depend on it (unless told to accept that they stop working);
# then disables the version (never destroys it: a disabled version can be re-enabled).
#
#   PROJECT=my-project infra/retire_pepper.sh N                 # gcloud path: checks, disables
#   PROJECT=my-project infra/retire_pepper.sh N --check-only    # Terraform path: checks only,
#       then add N to retired_pepper_versions and apply (Terraform owns the version's state)
#   ... --accept-live-keys     the keys still on N stop working; say so on purpose
#
# Settings: REGION, FUNCTION_NAME, NAME_PREFIX (as deploy.sh), API_KEYS_DATABASE (api-keys),
# and the pepper settings key_admin reads (API_KEY_PEPPER_SECRET: the current version).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-64}"
}
[[ ${1:-} == -h || ${1:-} == --help ]] && usage 0
VERSION=${1:-}
[[ $VERSION =~ ^[1-9][0-9]*$ ]] || usage
shift
check_only="" accept_live=""
while (($#)); do
  case $1 in
    --check-only) check_only=1 ;;
    --accept-live-keys) accept_live=1 ;;
    *) usage ;;
  esac
  shift
done
: "${PROJECT:?set PROJECT to the Google Cloud project id}"
REGION=${REGION:-us-central1}
FUNCTION_NAME=${FUNCTION_NAME:-models}
NAME_PREFIX=${NAME_PREFIX:-$FUNCTION_NAME}
PEPPER_SECRET="${NAME_PREFIX}-api-key-pepper"
export GOOGLE_CLOUD_PROJECT=$PROJECT API_KEYS_DATABASE=${API_KEYS_DATABASE:-api-keys}
# key_admin's report of live keys per pepper version (exit 1: some still depend on N).
PEPPER_USAGE=${PEPPER_USAGE:-.venv/bin/python -m key_admin pepper-usage}

echo "== 1. The deployed function does not use version ${VERSION}"
in_use=$(gcloud functions describe "$FUNCTION_NAME" --gen2 --project="$PROJECT" \
  --region="$REGION" --format=json | python3 -c '
import json, sys
secret, version = sys.argv[1], sys.argv[2]
config = json.load(sys.stdin).get("serviceConfig", {})
used = [e["key"] for e in config.get("secretEnvironmentVariables", [])
        if e.get("secret") == secret and str(e.get("version")) == version]
print(" ".join(used))' "$PEPPER_SECRET" "$VERSION")
if [[ -n $in_use ]]; then
  echo "refused: ${FUNCTION_NAME} still reads version ${VERSION} as ${in_use}; redeploy without" \
    "it first (previous_pepper_version = 0, or PREVIOUS_PEPPER_VERSION=0 deploy.sh)" >&2
  exit 1
fi

echo "== 2. No live key depends on version ${VERSION}"
if ! $PEPPER_USAGE --retiring "$VERSION"; then
  if [[ -z $accept_live ]]; then
    echo "refused: live keys still depend on version ${VERSION} (above); revoke or re-issue" \
      "them, or pass --accept-live-keys to let them stop working" >&2
    exit 1
  fi
  echo "accepted: those keys stop working once version ${VERSION} is disabled"
fi

if [[ -n $check_only ]]; then
  echo "== checks passed: add ${VERSION} to retired_pepper_versions and apply"
  exit 0
fi
echo "== 3. Disable version ${VERSION} (not destroyed; re-enable with gcloud secrets versions enable)"
gcloud secrets versions disable "$VERSION" --secret="$PEPPER_SECRET" --project="$PROJECT"
