#!/usr/bin/env bash
# Retire an old API-key pepper version without invalidating a live key (infra/README.md, Pepper
# rotation). The live-key check always comes first, and only a clean answer lets it go on: live
# keys, or any failure of the check (credentials, Firestore), stop it. Never destroys a version.
#
#   PROJECT=p infra/retire_pepper.sh N --check-only   # live keys only; run BEFORE the deploy that
#       stops reading N (Terraform runs this itself in that apply; refused while N is current)
#   PROJECT=p infra/retire_pepper.sh N                # after that deploy: checks again, refuses
#       while the function still reads N, then disables N (re-enable: gcloud secrets versions enable)
#   ... --accept-live-keys   the keys still on N stop working; say so on purpose
#
# Settings: REGION, FUNCTION_NAME, NAME_PREFIX (as deploy.sh), API_KEYS_DATABASE (api-keys),
# GCLOUD_CREDENTIALS=adc (Terraform: use the credentials Terraform uses, not gcloud's login).
# Exit status: 0 done, 1 refused (N is current, or still read), 2 the check failed (nothing is
# known about the keys), 3 live keys depend on N (as `key_admin pepper-usage`), 64 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
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
# key_admin's report of live keys per pepper version.
PEPPER_USAGE=${PEPPER_USAGE:-.venv/bin/python -m key_admin pepper-usage}
if [[ ${GCLOUD_CREDENTIALS:-} == adc ]]; then
  # shellcheck source=gcloud/use_adc.sh
  source infra/gcloud/use_adc.sh
fi

# The function's pepper environment variables that read version $VERSION ("" when none).
readers=$(gcloud functions describe "$FUNCTION_NAME" --gen2 --project="$PROJECT" \
  --region="$REGION" --format=json | python3 -c '
import json, sys
secret, version = sys.argv[1], sys.argv[2]
config = json.load(sys.stdin).get("serviceConfig", {})
used = [e["key"] for e in config.get("secretEnvironmentVariables", [])
        if e.get("secret") == secret and str(e.get("version")) == version]
print(" ".join(used))' "$PEPPER_SECRET" "$VERSION") || {
  echo "refused: cannot read ${FUNCTION_NAME}'s pepper settings (above)" >&2
  exit 2
}

echo "== 1. The function does not mint or verify new keys with version ${VERSION}"
if [[ " $readers " == *" API_KEY_PEPPER "* ]]; then
  echo "refused: version ${VERSION} is ${FUNCTION_NAME}'s current pepper (API_KEY_PEPPER)" >&2
  exit 1
fi

echo "== 2. No live key depends on version ${VERSION}"
# Only pepper-usage's exit status counts (its output is for the operator): 0 no live key, 3
# live keys. Any other status (bad credentials, Firestore down, a crash) stops here.
set +e
$PEPPER_USAGE --retiring "$VERSION"
usage_status=$?
set -e
case $usage_status in
  0) ;;
  3)
    if [[ -z $accept_live ]]; then
      echo "refused: live keys still depend on version ${VERSION} (above); revoke or re-issue" \
        "them, or pass --accept-live-keys to let them stop working" >&2
      exit 3
    fi
    echo "accepted: those keys stop working once ${FUNCTION_NAME} stops reading version ${VERSION}"
    ;;
  *)
    echo "refused: the live-key check failed (exit ${usage_status}, above), so nothing is known" \
      "about the keys on version ${VERSION}; fix it and run this again" >&2
    exit 2
    ;;
esac

if [[ -n $check_only ]]; then
  echo "== checks passed: deploy without version ${VERSION} (Terraform: previous_pepper_version = 0" \
    "and ${VERSION} in retired_pepper_versions), then run this without --check-only"
  exit 0
fi

echo "== 3. The function no longer reads version ${VERSION}"
if [[ -n $readers ]]; then
  echo "refused: ${FUNCTION_NAME} still reads version ${VERSION} as ${readers}; deploy without" \
    "it first (previous_pepper_version = 0, or PREVIOUS_PEPPER_VERSION=0 deploy.sh)" >&2
  exit 1
fi

echo "== 4. Disable version ${VERSION} (not destroyed; re-enable with gcloud secrets versions enable)"
gcloud secrets versions disable "$VERSION" --secret="$PEPPER_SECRET" --project="$PROJECT"
