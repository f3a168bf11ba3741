#!/usr/bin/env bash
# The gcloud path: deploys the same service as infra/ (Terraform) without Terraform. Same names,
# APIs, grants, pinned pepper version, image repository with cleanup policies, Firestore rules,
# upload contents (.gcloudignore is the one list both read) and environment. Monitoring (but for
# the catalog_refused metric and alert, which this script also creates), audit logs, App Check
# and the optional operator bindings are Terraform-only (infra/README.md).
#
#   PROJECT=my-project infra/gcloud/deploy.sh            # settings: the variables below
#   DRY_RUN=1 PROJECT=my-project infra/gcloud/deploy.sh  # print the commands, run nothing
#
# Every setting defaults to the Terraform variable of the same meaning (infra/variables.tf);
# tests/infra run this script with DRY_RUN=1 and compare what it would set with what Terraform
# sets for the same inputs. Re-running it is safe: existing accounts, secret, repository and
# database are kept; the function is redeployed.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${PROJECT:?set PROJECT to the Google Cloud (Firebase) project id}"
REGION=${REGION:-us-central1}
FUNCTION_NAME=${FUNCTION_NAME:-models}
NAME_PREFIX=${NAME_PREFIX:-$FUNCTION_NAME}
FIRESTORE_DATABASE=${FIRESTORE_DATABASE:-(default)}
FIRESTORE_LOCATION=${FIRESTORE_LOCATION:-nam5}
# true: the database exists (most Firebase projects); false: create it.
ADOPT_EXISTING_FIRESTORE_DATABASE=${ADOPT_EXISTING_FIRESTORE_DATABASE:?set ADOPT_EXISTING_FIRESTORE_DATABASE to true or false}
MANAGE_FIRESTORE_RULES=${MANAGE_FIRESTORE_RULES:-true}
PYTHON_RUNTIME=${PYTHON_RUNTIME:-python311}
CPU=${CPU:-1}
MEMORY=${MEMORY:-512Mi}
CONCURRENCY=${CONCURRENCY:-80}
MIN_INSTANCES=${MIN_INSTANCES:-1}
MAX_INSTANCES=${MAX_INSTANCES:-20}
TIMEOUT_SECONDS=${TIMEOUT_SECONDS:-10}
INGRESS=${INGRESS:-ALLOW_ALL}
PUBLIC_INVOCATION=${PUBLIC_INVOCATION:-true}
THREADS_PER_WORKER=${THREADS_PER_WORKER:-4}
CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-}   # comma-separated
FIREBASE_PROJECT_ID=${FIREBASE_PROJECT_ID:-$PROJECT}
CATALOG_CACHE_TTL_SECONDS=${CATALOG_CACHE_TTL_SECONDS:-60}
CATALOG_MAX_SHRINK_FRACTION=${CATALOG_MAX_SHRINK_FRACTION:-0.25}
APP_CHECK_WEB_APP_ID=${APP_CHECK_WEB_APP_ID:-}   # 1:<project number>:web:<hex>; empty: no browser path
API_KEY_REFRESH_SECONDS=${API_KEY_REFRESH_SECONDS:-4}
BACKEND_TIMEOUT_SECONDS=${BACKEND_TIMEOUT_SECONDS:-3}
PEPPER_VERSION=${PEPPER_VERSION:-1}              # the secret version the function is pinned to
IMAGE_KEEP_COUNT=${IMAGE_KEEP_COUNT:-5}
IMAGE_MAX_AGE_DAYS=${IMAGE_MAX_AGE_DAYS:-30}
IAM_PROPAGATION_WAIT=${IAM_PROPAGATION_WAIT:-90s}
ALERT_EMAIL_CHANNEL=${ALERT_EMAIL_CHANNEL:-}     # an existing notification channel name, optional
DRY_RUN=${DRY_RUN:-}

RUNTIME_SA="${NAME_PREFIX}-run@${PROJECT}.iam.gserviceaccount.com"
BUILD_SA="${NAME_PREFIX}-build@${PROJECT}.iam.gserviceaccount.com"
PEPPER_SECRET="${NAME_PREFIX}-api-key-pepper"
REPOSITORY="${NAME_PREFIX}-images"
APIS=(
  artifactregistry.googleapis.com
  cloudbuild.googleapis.com
  cloudfunctions.googleapis.com
  cloudresourcemanager.googleapis.com
  firebaserules.googleapis.com
  firestore.googleapis.com
  iam.googleapis.com
  logging.googleapis.com
  monitoring.googleapis.com
  run.googleapis.com
  secretmanager.googleapis.com
  storage.googleapis.com
)

# Print (DRY_RUN) or run a command.
run() {
  if [[ -n $DRY_RUN ]]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# Whether a resource exists (always "no" in a dry run, which then prints the create commands).
exists() {
  [[ -z $DRY_RUN ]] && "$@" >/dev/null 2>&1
}

new_pepper() {  # 48 random bytes, base64 without padding or symbols: >= 32 characters
  [[ -z $DRY_RUN ]] || return 0
  openssl rand -base64 48 | tr -d '\n=+/'
}

if [[ -n $DRY_RUN ]]; then
  PROJECT_NUMBER=${PROJECT_NUMBER:-000000000000}
else
  PROJECT_NUMBER=$(gcloud projects describe "$PROJECT" --format='value(projectNumber)')
fi
DATABASE_CONDITION="resource.name == \"projects/${PROJECT}/databases/${FIRESTORE_DATABASE}\""
SOURCES_BUCKET="projects/_/buckets/gcf-v2-sources-${PROJECT_NUMBER}-${REGION}"
SOURCES_CONDITION="resource.name == \"${SOURCES_BUCKET}\" || resource.name.startsWith(\"${SOURCES_BUCKET}/objects/\")"

# --- APIs ------------------------------------------------------------------------------------
run gcloud services enable "${APIS[@]}" --project="$PROJECT"

# --- Firestore: adopt or create, with point-in-time recovery and delete protection ----------
if [[ $ADOPT_EXISTING_FIRESTORE_DATABASE == true ]]; then
  run gcloud firestore databases update --project="$PROJECT" --database="$FIRESTORE_DATABASE" \
    --enable-pitr --delete-protection
else
  run gcloud firestore databases create --project="$PROJECT" --database="$FIRESTORE_DATABASE" \
    --location="$FIRESTORE_LOCATION" --type=firestore-native --enable-pitr --delete-protection
fi

# --- service accounts ----------------------------------------------------------------------
exists gcloud iam service-accounts describe "$RUNTIME_SA" --project="$PROJECT" ||
  run gcloud iam service-accounts create "${NAME_PREFIX}-run" --project="$PROJECT" \
    --display-name="Runtime of the ${FUNCTION_NAME} catalog function (read-only)"
exists gcloud iam service-accounts describe "$BUILD_SA" --project="$PROJECT" ||
  run gcloud iam service-accounts create "${NAME_PREFIX}-build" --project="$PROJECT" \
    --display-name="Builds the ${FUNCTION_NAME} function from source"

# --- the pepper: generated here, stored only in Secret Manager; version 1 is the first -------
if ! exists gcloud secrets describe "$PEPPER_SECRET" --project="$PROJECT"; then
  new_pepper | run gcloud secrets create "$PEPPER_SECRET" --project="$PROJECT" \
    --replication-policy=automatic --data-file=-
fi

# --- image repository with cleanup policies (same two as Terraform) --------------------------
exists gcloud artifacts repositories describe "$REPOSITORY" --location="$REGION" --project="$PROJECT" ||
  run gcloud artifacts repositories create "$REPOSITORY" --project="$PROJECT" \
    --location="$REGION" --repository-format=docker \
    --description="Images of the ${FUNCTION_NAME} function (built by Cloud Build)"
policies=$(mktemp)
trap 'rm -f "$policies"' EXIT
cat >"$policies" <<JSON
[
  {"name": "keep-recent", "action": {"type": "Keep"},
   "mostRecentVersions": {"keepCount": ${IMAGE_KEEP_COUNT}}},
  {"name": "delete-old", "action": {"type": "Delete"},
   "condition": {"tagState": "any", "olderThan": "$((IMAGE_MAX_AGE_DAYS * 86400))s"}}
]
JSON
[[ -z $DRY_RUN ]] || sed 's/^/# /' "$policies"
run gcloud artifacts repositories set-cleanup-policies "$REPOSITORY" --project="$PROJECT" \
  --location="$REGION" --policy="$policies" --no-dry-run

# --- grants (the same as infra/iam.tf) ------------------------------------------------------
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${RUNTIME_SA}" \
  --role=roles/datastore.viewer \
  --condition="expression=${DATABASE_CONDITION},title=only-the-catalog-database"
run gcloud secrets add-iam-policy-binding "$PEPPER_SECRET" --project="$PROJECT" \
  --member="serviceAccount:${RUNTIME_SA}" --role=roles/secretmanager.secretAccessor
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${BUILD_SA}" \
  --role=roles/logging.logWriter --condition=None
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${BUILD_SA}" \
  --role=roles/storage.objectViewer \
  --condition="expression=${SOURCES_CONDITION},title=only-the-gcf-v2-sources-bucket"
run gcloud artifacts repositories add-iam-policy-binding "$REPOSITORY" --project="$PROJECT" \
  --location="$REGION" --member="serviceAccount:${BUILD_SA}" --role=roles/artifactregistry.writer
# IAM changes take a while to reach Cloud Build (Terraform waits the same time).
run sleep "$IAM_PROPAGATION_WAIT"

# --- Firestore rules: infra/firestore.rules through the Firebase Rules API -------------------
deploy_firestore_rules() {
  local release=cloud.firestore
  [[ $FIRESTORE_DATABASE == "(default)" ]] || release="cloud.firestore/${FIRESTORE_DATABASE}"
  if [[ -n $DRY_RUN ]]; then
    printf '+ firestore-rules %q %q\n' "$release" infra/firestore.rules
    return
  fi
  local api="https://firebaserules.googleapis.com/v1/projects/${PROJECT}"
  local auth=(-H "Authorization: Bearer $(gcloud auth print-access-token)"
    -H "x-goog-user-project: ${PROJECT}" -H "Content-Type: application/json")
  local ruleset
  ruleset=$(python3 -c 'import json,sys; print(json.dumps({"source": {"files": [{"name": "firestore.rules", "content": open(sys.argv[1]).read()}]}}))' infra/firestore.rules |
    curl -sSf "${auth[@]}" -X POST "${api}/rulesets" --data-binary @- |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
  local body="{\"release\": {\"name\": \"projects/${PROJECT}/releases/${release}\", \"rulesetName\": \"${ruleset}\"}}"
  curl -sSf "${auth[@]}" -X PATCH "${api}/releases/${release}" --data "$body" >/dev/null ||
    curl -sSf "${auth[@]}" -X POST "${api}/releases" \
      --data "{\"name\": \"projects/${PROJECT}/releases/${release}\", \"rulesetName\": \"${ruleset}\"}" >/dev/null
  echo "Firestore rules: ${ruleset} released as ${release}"
}
[[ $MANAGE_FIRESTORE_RULES != true ]] || deploy_firestore_rules

# --- the function ----------------------------------------------------------------------------
case $INGRESS in
  ALLOW_ALL) ingress=all ;;
  ALLOW_INTERNAL_ONLY) ingress=internal-only ;;
  ALLOW_INTERNAL_AND_GCLB) ingress=internal-and-gclb ;;
  *) echo "INGRESS must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB" >&2; exit 64 ;;
esac
invocation=--no-allow-unauthenticated
[[ $PUBLIC_INVOCATION != true ]] || invocation=--allow-unauthenticated
env_vars=(
  "GOOGLE_CLOUD_PROJECT=${PROJECT}"
  "FIREBASE_PROJECT_ID=${FIREBASE_PROJECT_ID}"
  "FIRESTORE_DATABASE=${FIRESTORE_DATABASE}"
  "CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS}"
  "CATALOG_CACHE_TTL_SECONDS=${CATALOG_CACHE_TTL_SECONDS}"
  "APP_CHECK_APP_IDS=${APP_CHECK_WEB_APP_ID}"
  "CATALOG_MAX_SHRINK_FRACTION=${CATALOG_MAX_SHRINK_FRACTION}"
  "API_KEY_REFRESH_SECONDS=${API_KEY_REFRESH_SECONDS}"
  "BACKEND_TIMEOUT_SECONDS=${BACKEND_TIMEOUT_SECONDS}"
  "TRUSTED_PROXY_HOPS=1"
  "WORKERS=${CPU}"
  "THREADS=${THREADS_PER_WORKER}"
)
joined=$(IFS=';'; echo "${env_vars[*]}")

# --source=. uploads what .gcloudignore lets through (main.py, requirements.txt, models_api/).
run gcloud functions deploy "$FUNCTION_NAME" --gen2 --project="$PROJECT" --region="$REGION" \
  --runtime="$PYTHON_RUNTIME" --source=. --entry-point=models --trigger-http "$invocation" \
  --service-account="$RUNTIME_SA" \
  --build-service-account="projects/${PROJECT}/serviceAccounts/${BUILD_SA}" \
  --docker-repository="projects/${PROJECT}/locations/${REGION}/repositories/${REPOSITORY}" \
  --set-secrets="API_KEY_PEPPER=${PEPPER_SECRET}:${PEPPER_VERSION}" \
  --set-env-vars="^;^${joined}" \
  --cpu="$CPU" --memory="$MEMORY" --concurrency="$CONCURRENCY" \
  --min-instances="$MIN_INSTANCES" --max-instances="$MAX_INSTANCES" \
  --timeout="${TIMEOUT_SECONDS}s" --ingress-settings="$ingress"

# --- the catalog_refused log metric and alert (as infra/monitoring.tf) --------------------------
# An empty or sharply shrunk catalog read is refused and logged as an ERROR (models_api/
# catalog_guard.py): any such line opens an incident.
METRIC="${FUNCTION_NAME}/catalog_refused"
SERVICE_LOGS="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${FUNCTION_NAME}\" AND logName=\"projects/${PROJECT}/logs/run.googleapis.com%2Fstdout\""
exists gcloud logging metrics describe "$METRIC" --project="$PROJECT" ||
  run gcloud logging metrics create "$METRIC" --project="$PROJECT" \
    --description="Catalog reads refused because they were empty or lost more than CATALOG_MAX_SHRINK_FRACTION of the models." \
    --log-filter="${SERVICE_LOGS} AND severity=ERROR AND jsonPayload.message=~\"^catalog refused\""
ALERT_NAME="${FUNCTION_NAME}: catalog read refused (empty or shrunk)"
alert=$(mktemp)
trap 'rm -f "$policies" "$alert"' EXIT
python3 - "$alert" "$ALERT_NAME" "$METRIC" "$FUNCTION_NAME" "$ALERT_EMAIL_CHANNEL" <<'PY'
import json, sys
path, name, metric, function, channel = sys.argv[1:]
policy = {
    "displayName": name,
    "combiner": "OR",
    "notificationChannels": [channel] if channel else [],
    "conditions": [{
        "displayName": "any catalog read refused in 5 minutes",
        "conditionThreshold": {
            "filter": f'metric.type="logging.googleapis.com/user/{metric}" AND resource.type="cloud_run_revision" AND resource.labels.service_name="{function}"',
            "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s",
            "aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_SUM", "crossSeriesReducer": "REDUCE_SUM"}],
        },
    }],
    "documentation": {"mimeType": "text/markdown", "content": f"{function} refused a catalog read that was empty or lost more than CATALOG_MAX_SHRINK_FRACTION of its models: instances keep their cached catalog, new ones answer 503. Check FIRESTORE_DATABASE and the collection; re-run python -m catalog_seed (--confirm for an intended large removal)."},
}
open(path, "w").write(json.dumps(policy))
PY
if [[ -n $DRY_RUN ]] || [[ -z $(gcloud alpha monitoring policies list --project="$PROJECT" \
  --filter="displayName=\"${ALERT_NAME}\"" --format='value(name)' 2>/dev/null) ]]; then
  run gcloud alpha monitoring policies create --project="$PROJECT" --policy-from-file="$alert"
fi

echo "Mint keys against the same pinned pepper version:"
echo "  API_KEY_PEPPER_SECRET=projects/${PROJECT}/secrets/${PEPPER_SECRET}/versions/${PEPPER_VERSION}"
