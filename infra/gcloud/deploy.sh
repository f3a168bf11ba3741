#!/usr/bin/env bash
# The gcloud path: deploys the same service as infra/ (Terraform) without Terraform. Same names,
# APIs, databases, grants, pinned pepper versions, image repository with cleanup policies,
# Firestore rules, upload contents (.gcloudignore is the one list both read), environment,
# public access and the catalog_refused and key_index_refused log metrics and alerts. The rest
# of monitoring, audit logs, App Check and the optional operator bindings are Terraform-only
# (infra/README.md).
#
#   PROJECT=my-project ADOPT_EXISTING_FIRESTORE_DATABASE=true PUBLIC_ACCESS=all_users \
#     infra/gcloud/deploy.sh                       # settings: the variables below
#   DRY_RUN=1 PROJECT=... infra/gcloud/deploy.sh   # print the commands, run nothing
#
# Every setting defaults to the Terraform variable of the same meaning (infra/variables.tf);
# tests/infra run this script with DRY_RUN=1 and compare what it would set with what Terraform
# sets for the same inputs, and run it twice against a fake gcloud that keeps state: the second
# run creates, adds and deploys nothing. Re-running is safe: what exists is kept (an adopted
# database is only checked, never changed), the pinned pepper version is created only when it is
# the next one (a rotation), the rules are released only when their text changed, and the
# function is redeployed only when its source or settings changed (a fingerprint label).
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  cat <<'USAGE'
Deploys the catalog service without Terraform (infra/README.md, "The gcloud path").

  PROJECT=p ADOPT_EXISTING_FIRESTORE_DATABASE=false PUBLIC_ACCESS=all_users infra/gcloud/deploy.sh
  DRY_RUN=1 PROJECT=p ADOPT_EXISTING_FIRESTORE_DATABASE=false PUBLIC_ACCESS=all_users \
    infra/gcloud/deploy.sh        # prints the commands a first deploy runs; calls no gcloud

Required:
  PROJECT                             the Google Cloud (Firebase) project id
  ADOPT_EXISTING_FIRESTORE_DATABASE   true: the catalog database exists, left as it is; false: create it
  PUBLIC_ACCESS                       all_users | invoker_check_disabled | none

Optional (default; each matches the Terraform variable of the same meaning, infra/variables.tf):
  DRY_RUN                  empty: deploy; any value: print the commands, change and read nothing
  REGION                   us-central1
  FUNCTION_NAME            models
  NAME_PREFIX              FUNCTION_NAME: accounts, pepper secret, repository
  FIRESTORE_DATABASE       catalog ("(default)": the web app's database)
  API_KEYS_DATABASE        api-keys
  FIRESTORE_LOCATION       nam5 (created databases)
  MANAGE_FIRESTORE_RULES   false; FIRESTORE_RULES_BASE_FILE: the project's rules to merge into
  PYTHON_RUNTIME           python311
  CPU, MEMORY              1, 512Mi (WORKERS = CPU)
  THREADS_PER_WORKER       4
  CONCURRENCY              80
  MIN_INSTANCES            1
  MAX_INSTANCES            20
  TIMEOUT_SECONDS          10
  INGRESS                  ALLOW_ALL | ALLOW_INTERNAL_ONLY | ALLOW_INTERNAL_AND_GCLB
  TRUSTED_PROXY_HOPS       from INGRESS: 1, or 2 behind a load balancer
  CORS_ALLOWED_ORIGINS     empty (comma-separated)
  FIREBASE_PROJECT_ID      PROJECT
  APP_CHECK_WEB_APP_ID     empty: no browser path
  CATALOG_CACHE_TTL_SECONDS 60; CATALOG_MAX_SHRINK_FRACTION 0.25
  API_KEY_REFRESH_SECONDS  4; BACKEND_TIMEOUT_SECONDS 3
  PEPPER_VERSION           1: the pepper's Secret Manager version number that mints and verifies;
                           created here only when it is the next one (a rotation)
  PREVIOUS_PEPPER_VERSION  0 (none): a version still verified during a rotation; dropping one
                           runs infra/retire_pepper.sh N --check-only first (infra/README.md,
                           "Pepper rotation")
  IMAGE_KEEP_COUNT, IMAGE_MAX_AGE_DAYS   5, 30
  IAM_PROPAGATION_WAIT     90s
  ALERT_EMAIL_CHANNEL      empty: alerts open incidents only; else a notification channel name
  LABELS                   service=models-api (key=value,key=value)
  DRIFT_CHECK              true: deploy the daily drift check; false: skip it
  DRIFT_CHECK_SCHEDULE     "17 6 * * *" (UTC); DRIFT_CHECK_TIMEOUT_SECONDS 300
  DRIFT_CHECK_LITELLM_URL, DRIFT_CHECK_OPENROUTER_MODELS_URL,
  DRIFT_CHECK_OPENROUTER_ENDPOINTS_URL, DRIFT_CHECK_GENAI_PRICES_URL
                           empty: the public source in drift_check/settings.py; else an https URL
USAGE
}
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 64 ;;
esac

: "${PROJECT:?set PROJECT to the Google Cloud (Firebase) project id}"
REGION=${REGION:-us-central1}
FUNCTION_NAME=${FUNCTION_NAME:-models}
NAME_PREFIX=${NAME_PREFIX:-$FUNCTION_NAME}
FIRESTORE_DATABASE=${FIRESTORE_DATABASE:-catalog}   # "(default)": the web app's (README, Databases)
API_KEYS_DATABASE=${API_KEYS_DATABASE:-api-keys}
FIRESTORE_LOCATION=${FIRESTORE_LOCATION:-nam5}
# true: the catalog database exists and is left as it is; false: create it.
ADOPT_EXISTING_FIRESTORE_DATABASE=${ADOPT_EXISTING_FIRESTORE_DATABASE:?set ADOPT_EXISTING_FIRESTORE_DATABASE to true or false}
# all_users | invoker_check_disabled | none (infra/README.md, Public access).
PUBLIC_ACCESS=${PUBLIC_ACCESS:?set PUBLIC_ACCESS to all_users, invoker_check_disabled or none}
MANAGE_FIRESTORE_RULES=${MANAGE_FIRESTORE_RULES:-false}
FIRESTORE_RULES_BASE_FILE=${FIRESTORE_RULES_BASE_FILE:-}   # the project's own rules file
PYTHON_RUNTIME=${PYTHON_RUNTIME:-python311}
CPU=${CPU:-1}
MEMORY=${MEMORY:-512Mi}
CONCURRENCY=${CONCURRENCY:-80}
MIN_INSTANCES=${MIN_INSTANCES:-1}
MAX_INSTANCES=${MAX_INSTANCES:-20}
TIMEOUT_SECONDS=${TIMEOUT_SECONDS:-10}
INGRESS=${INGRESS:-ALLOW_ALL}
THREADS_PER_WORKER=${THREADS_PER_WORKER:-4}
CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-}   # comma-separated
FIREBASE_PROJECT_ID=${FIREBASE_PROJECT_ID:-$PROJECT}
CATALOG_CACHE_TTL_SECONDS=${CATALOG_CACHE_TTL_SECONDS:-60}
CATALOG_MAX_SHRINK_FRACTION=${CATALOG_MAX_SHRINK_FRACTION:-0.25}
APP_CHECK_WEB_APP_ID=${APP_CHECK_WEB_APP_ID:-}   # 1:<project number>:web:<hex>; empty: no browser path
API_KEY_REFRESH_SECONDS=${API_KEY_REFRESH_SECONDS:-4}
BACKEND_TIMEOUT_SECONDS=${BACKEND_TIMEOUT_SECONDS:-3}
# The Secret Manager version numbers of the current and (during a rotation) previous pepper.
PEPPER_VERSION=${PEPPER_VERSION:-1}
PREVIOUS_PEPPER_VERSION=${PREVIOUS_PEPPER_VERSION:-0}   # 0: none
IMAGE_KEEP_COUNT=${IMAGE_KEEP_COUNT:-5}
IMAGE_MAX_AGE_DAYS=${IMAGE_MAX_AGE_DAYS:-30}
IAM_PROPAGATION_WAIT=${IAM_PROPAGATION_WAIT:-90s}
ALERT_EMAIL_CHANNEL=${ALERT_EMAIL_CHANNEL:-}     # an existing notification channel name, optional
LABELS=${LABELS:-service=models-api}               # key=value,key=value
DRY_RUN=${DRY_RUN:-}

# The client address is the X-Forwarded-For entry this many from the right (infra/README.md,
# Client addresses): 1 behind Google's front end alone, 2 behind an external Application LB.
case $INGRESS in
  ALLOW_ALL) ingress=all default_hops=1 ;;
  ALLOW_INTERNAL_ONLY) ingress=internal-only default_hops=1 ;;
  ALLOW_INTERNAL_AND_GCLB) ingress=internal-and-gclb default_hops=2 ;;
  *) echo "INGRESS must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB" >&2; exit 64 ;;
esac
TRUSTED_PROXY_HOPS=${TRUSTED_PROXY_HOPS:-$default_hops}
case $PUBLIC_ACCESS in
  all_users | invoker_check_disabled | none) ;;
  *) echo "PUBLIC_ACCESS must be all_users, invoker_check_disabled or none" >&2; exit 64 ;;
esac
if [[ $PREVIOUS_PEPPER_VERSION != 0 ]] && ((PREVIOUS_PEPPER_VERSION >= PEPPER_VERSION)); then
  echo "PREVIOUS_PEPPER_VERSION must be 0 or below PEPPER_VERSION" >&2
  exit 64
fi

RUNTIME_SA="${NAME_PREFIX}-run@${PROJECT}.iam.gserviceaccount.com"
BUILD_SA="${NAME_PREFIX}-build@${PROJECT}.iam.gserviceaccount.com"
PEPPER_SECRET="${NAME_PREFIX}-api-key-pepper"
REPOSITORY="${NAME_PREFIX}-images"
APIS=(
  artifactregistry.googleapis.com
  cloudbuild.googleapis.com
  cloudfunctions.googleapis.com
  cloudresourcemanager.googleapis.com
  cloudscheduler.googleapis.com  # the daily drift check (block at the end)
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

# A read whose answer decides what to do ("" in a dry run).
query() {
  [[ -z $DRY_RUN ]] || return 0
  "$@" 2>/dev/null || true
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
API_KEYS_DATABASE_CONDITION="resource.name == \"projects/${PROJECT}/databases/${API_KEYS_DATABASE}\""
SOURCES_BUCKET="projects/_/buckets/gcf-v2-sources-${PROJECT_NUMBER}-${REGION}"
SOURCES_CONDITION="resource.name == \"${SOURCES_BUCKET}\" || resource.name.startsWith(\"${SOURCES_BUCKET}/objects/\")"

# --- APIs (enabling an enabled API changes nothing) --------------------------------------------
run gcloud services enable "${APIS[@]}" --project="$PROJECT"

# --- Firestore --------------------------------------------------------------------------------
# The catalog database: an adopted one is only checked (its settings are its owners'); one this
# script creates gets point-in-time recovery and delete protection. The API keys database is
# always the service's own.
create_database() {
  run gcloud firestore databases create --project="$PROJECT" --database="$1" \
    --location="$FIRESTORE_LOCATION" --type=firestore-native --enable-pitr --delete-protection
}
if [[ $ADOPT_EXISTING_FIRESTORE_DATABASE == true ]]; then
  if [[ -z $DRY_RUN ]] && ! exists gcloud firestore databases describe --project="$PROJECT" \
    --database="$FIRESTORE_DATABASE"; then
    echo "ADOPT_EXISTING_FIRESTORE_DATABASE=true but database ${FIRESTORE_DATABASE} does not exist" >&2
    exit 1
  fi
else
  exists gcloud firestore databases describe --project="$PROJECT" --database="$FIRESTORE_DATABASE" ||
    create_database "$FIRESTORE_DATABASE"
fi
exists gcloud firestore databases describe --project="$PROJECT" --database="$API_KEYS_DATABASE" ||
  create_database "$API_KEYS_DATABASE"

# --- service accounts -------------------------------------------------------------------------
create_account() {  # account id, display name: created unless it exists
  exists gcloud iam service-accounts describe "${1}@${PROJECT}.iam.gserviceaccount.com" \
    --project="$PROJECT" ||
    run gcloud iam service-accounts create "$1" --project="$PROJECT" --display-name="$2"
}
create_account "${NAME_PREFIX}-run" "Runtime of the ${FUNCTION_NAME} catalog function (read-only)"
create_account "${NAME_PREFIX}-build" "Builds the ${FUNCTION_NAME} function from source"

# --- the pepper: one Secret Manager version per generation, never destroyed here --------------
exists gcloud secrets describe "$PEPPER_SECRET" --project="$PROJECT" ||
  run gcloud secrets create "$PEPPER_SECRET" --project="$PROJECT" \
    --replication-policy=automatic --labels="$LABELS"
# The pinned version must exist. If it is the next one (a rotation, or the first deployment),
# it is generated here; any other missing version is an error, never silently pinned.
ensure_pepper_version() {
  local version=$1 count
  exists gcloud secrets versions describe "$version" --secret="$PEPPER_SECRET" \
    --project="$PROJECT" && return 0
  count=$(query gcloud secrets versions list "$PEPPER_SECRET" --project="$PROJECT" \
    --format='value(name.basename())' | grep -c . || true)
  if [[ -z $DRY_RUN ]] && ((version != count + 1)); then
    echo "pepper version ${version} does not exist and is not the next one ($((count + 1)))" >&2
    exit 1
  fi
  new_pepper | run gcloud secrets versions add "$PEPPER_SECRET" --project="$PROJECT" --data-file=-
}
# A deploy never stops verifying a version live keys depend on: the deployed current version
# stays (as current or previous), and a previous one this deploy drops must pass
# retire_pepper.sh's live-key check first (any failure of the check stops the deploy).
deployed_peppers=$(query gcloud functions describe "$FUNCTION_NAME" --gen2 --project="$PROJECT" \
  --region="$REGION" --format=json | python3 -c '
import json, sys
text = sys.stdin.read().strip()
for e in (json.loads(text) if text else {}).get("serviceConfig", {}).get("secretEnvironmentVariables", []):
    if e.get("secret") == sys.argv[1]:
        print(e["key"], e["version"])' "$PEPPER_SECRET")
while read -r reader version; do
  [[ -n $reader && $version != "$PEPPER_VERSION" && $version != "$PREVIOUS_PEPPER_VERSION" ]] || continue
  if [[ $reader == API_KEY_PEPPER ]]; then
    echo "refused: keys minted under version ${version} (the deployed current pepper) would get" \
      "401; rotate with PREVIOUS_PEPPER_VERSION=${version}" >&2
    exit 1
  fi
  echo "Pepper: this deploy stops reading version ${version}; checking its live keys first"
  retire_status=0
  PROJECT=$PROJECT REGION=$REGION FUNCTION_NAME=$FUNCTION_NAME NAME_PREFIX=$NAME_PREFIX \
    API_KEYS_DATABASE=$API_KEYS_DATABASE infra/retire_pepper.sh "$version" --check-only </dev/null ||
    retire_status=$?
  case $retire_status in  # retire_pepper.sh's exit status, never its output
    0) ;;
    3)
      echo "refused: deploy with PREVIOUS_PEPPER_VERSION=${version} until no live key depends" \
        "on it" >&2
      exit 1
      ;;
    *)
      echo "refused: the live-key check of version ${version} failed (exit ${retire_status});" \
        "nothing was changed" >&2
      exit 2
      ;;
  esac
done <<<"$deployed_peppers"
ensure_pepper_version "$PEPPER_VERSION"
if [[ $PREVIOUS_PEPPER_VERSION != 0 && -z $DRY_RUN ]] &&
  ! exists gcloud secrets versions describe "$PREVIOUS_PEPPER_VERSION" \
    --secret="$PEPPER_SECRET" --project="$PROJECT"; then
  echo "PREVIOUS_PEPPER_VERSION ${PREVIOUS_PEPPER_VERSION} does not exist" >&2
  exit 1
fi

# --- image repository with cleanup policies (same two as Terraform) ----------------------------
exists gcloud artifacts repositories describe "$REPOSITORY" --location="$REGION" --project="$PROJECT" ||
  run gcloud artifacts repositories create "$REPOSITORY" --project="$PROJECT" \
    --location="$REGION" --repository-format=docker --labels="$LABELS" \
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

# --- grants (the same as infra/iam.tf; adding an existing binding changes nothing) -------------
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${RUNTIME_SA}" \
  --role=roles/datastore.viewer \
  --condition="expression=${DATABASE_CONDITION},title=only-the-catalog-database"
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${RUNTIME_SA}" \
  --role=roles/datastore.viewer \
  --condition="expression=${API_KEYS_DATABASE_CONDITION},title=only-the-api-keys-database"
run gcloud secrets add-iam-policy-binding "$PEPPER_SECRET" --project="$PROJECT" \
  --member="serviceAccount:${RUNTIME_SA}" --role=roles/secretmanager.secretAccessor
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${BUILD_SA}" \
  --role=roles/logging.logWriter --condition=None
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${BUILD_SA}" \
  --role=roles/storage.objectAdmin \
  --condition="expression=${SOURCES_CONDITION},title=only-the-gcf-v2-sources-bucket"
run gcloud artifacts repositories add-iam-policy-binding "$REPOSITORY" --project="$PROJECT" \
  --location="$REGION" --member="serviceAccount:${BUILD_SA}" --role=roles/artifactregistry.writer

# --- Firestore rules through the Firebase Rules API ---------------------------------------------
# The API keys database always gets infra/firestore.rules (deny all). The catalog database's
# rules are left alone unless MANAGE_FIRESTORE_RULES=true; then FIRESTORE_RULES_BASE_FILE (the
# project's own rules) is released with the service's denials merged in, or firestore.rules
# when no base file is given. A new ruleset is created only when the text differs from the
# released one, so re-runs do not pile rulesets up.
release_rules() {
  local release=$1 file=$2
  if [[ -n $DRY_RUN ]]; then
    printf '+ firestore-rules %q %q\n' "$release" "$file"
    return
  fi
  local api="https://firebaserules.googleapis.com/v1/projects/${PROJECT}"
  local auth=(-H "Authorization: Bearer $(gcloud auth print-access-token)"
    -H "x-goog-user-project: ${PROJECT}" -H "Content-Type: application/json")
  local current="" released_ruleset
  released_ruleset=$(curl -sS "${auth[@]}" "${api}/releases/${release}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("rulesetName", ""))' || true)
  if [[ -n $released_ruleset ]]; then
    current=$(curl -sSf "${auth[@]}" "https://firebaserules.googleapis.com/v1/${released_ruleset}" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["source"]["files"][0]["content"], end="")')
  fi
  if [[ $current == "$(cat "$file")" ]]; then
    echo "Firestore rules: ${release} already serves ${file}"
    return
  fi
  local ruleset
  ruleset=$(python3 -c 'import json,sys; print(json.dumps({"source": {"files": [{"name": "firestore.rules", "content": open(sys.argv[1]).read()}]}}))' "$file" |
    curl -sSf "${auth[@]}" -X POST "${api}/rulesets" --data-binary @- |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
  local body="{\"name\": \"projects/${PROJECT}/releases/${release}\", \"rulesetName\": \"${ruleset}\"}"
  if [[ -n $released_ruleset ]]; then
    curl -sSf "${auth[@]}" -X PATCH "${api}/releases/${release}" --data "{\"release\": ${body}}" >/dev/null
  else
    curl -sSf "${auth[@]}" -X POST "${api}/releases" --data "$body" >/dev/null
  fi
  echo "Firestore rules: ${ruleset} released as ${release}"
}
release_rules "cloud.firestore/${API_KEYS_DATABASE}" infra/firestore.rules
if [[ $MANAGE_FIRESTORE_RULES == true ]]; then
  catalog_release=cloud.firestore
  [[ $FIRESTORE_DATABASE == "(default)" ]] || catalog_release="cloud.firestore/${FIRESTORE_DATABASE}"
  catalog_rules=infra/firestore.rules
  if [[ -n $FIRESTORE_RULES_BASE_FILE ]]; then
    merged_rules=$(mktemp)
    trap 'rm -f "$policies" "$merged_rules"' EXIT
    python3 infra/gcloud/merge_firestore_rules.py "$FIRESTORE_RULES_BASE_FILE" \
      infra/firestore_rules/service_collections.rules >"$merged_rules"
    catalog_rules=$merged_rules
  fi
  release_rules "$catalog_release" "$catalog_rules"
fi

# --- the function -------------------------------------------------------------------------------
invocation=--no-allow-unauthenticated
[[ $PUBLIC_ACCESS != all_users ]] || invocation=--allow-unauthenticated
secrets="API_KEY_PEPPER=${PEPPER_SECRET}:${PEPPER_VERSION}"
env_vars=(
  "GOOGLE_CLOUD_PROJECT=${PROJECT}"
  "FIREBASE_PROJECT_ID=${FIREBASE_PROJECT_ID}"
  "FIRESTORE_DATABASE=${FIRESTORE_DATABASE}"
  "API_KEYS_DATABASE=${API_KEYS_DATABASE}"
  "CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS}"
  "CATALOG_CACHE_TTL_SECONDS=${CATALOG_CACHE_TTL_SECONDS}"
  "APP_CHECK_APP_IDS=${APP_CHECK_WEB_APP_ID}"
  "CATALOG_MAX_SHRINK_FRACTION=${CATALOG_MAX_SHRINK_FRACTION}"
  "API_KEY_REFRESH_SECONDS=${API_KEY_REFRESH_SECONDS}"
  "BACKEND_TIMEOUT_SECONDS=${BACKEND_TIMEOUT_SECONDS}"
  "TRUSTED_PROXY_HOPS=${TRUSTED_PROXY_HOPS}"
  "WORKERS=${CPU}"
  "THREADS=${THREADS_PER_WORKER}"
  "MALLOC_ARENA_MAX=2"
  "API_KEY_PEPPER_VERSION=${PEPPER_VERSION}"
)
if [[ $PREVIOUS_PEPPER_VERSION != 0 ]]; then
  secrets+=",API_KEY_PREVIOUS_PEPPER=${PEPPER_SECRET}:${PREVIOUS_PEPPER_VERSION}"
  env_vars+=("API_KEY_PREVIOUS_PEPPER_VERSION=${PREVIOUS_PEPPER_VERSION}")
fi
joined=$(IFS=';'; echo "${env_vars[*]}")
deploy_flags=(
  --gen2 --project="$PROJECT" --region="$REGION"
  --runtime="$PYTHON_RUNTIME" --source=. --entry-point=models --trigger-http "$invocation"
  --service-account="$RUNTIME_SA"
  --build-service-account="projects/${PROJECT}/serviceAccounts/${BUILD_SA}"
  --docker-repository="projects/${PROJECT}/locations/${REGION}/repositories/${REPOSITORY}"
  --set-secrets="$secrets"
  --set-env-vars="^;^${joined}"
  --cpu="$CPU" --memory="$MEMORY" --concurrency="$CONCURRENCY"
  --min-instances="$MIN_INSTANCES" --max-instances="$MAX_INSTANCES"
  --timeout="${TIMEOUT_SECONDS}s" --ingress-settings="$ingress"
)
# What decides a redeploy: the files .gcloudignore lets through (read by upload_files.py with
# the grammar Terraform's source_files.tf uses: main.py, requirements.txt, models_api/, the
# drift check's files; no caches or dot-files) and every flag. Stored as a label on the
# function, compared on the next run. Both functions are built from this one upload.
upload_hash=$(python3 infra/gcloud/upload_files.py . | tr '\n' '\0' | xargs -0 sha256sum |
  sha256sum | cut -c1-64)
fingerprint_of() {  # the deploy flags given as arguments, and the upload
  { printf '%s\n' "$@"; echo "$upload_hash"; } | sha256sum | cut -c1-40
}
iam_waited=""
# Deploy function $1 with flags $2..., unless it already runs with this fingerprint.
deploy_function() {
  local name=$1 fingerprint deployed
  shift
  fingerprint=$(fingerprint_of "$@")
  deployed=$(query gcloud functions describe "$name" --gen2 --project="$PROJECT" \
    --region="$REGION" --format='value(labels.deploy_fingerprint)')
  if [[ $deployed == "$fingerprint" ]]; then
    echo "Function ${name}: already deployed with these files and settings"
    return
  fi
  # IAM changes take a while to reach Cloud Build (Terraform waits the same time), once a run.
  [[ -n $iam_waited ]] || run sleep "$IAM_PROPAGATION_WAIT"
  iam_waited=1
  # --source=. uploads what .gcloudignore lets through.
  run gcloud functions deploy "$name" "$@" \
    --update-labels="${LABELS},deploy_fingerprint=${fingerprint}"
}
deploy_function "$FUNCTION_NAME" "${deploy_flags[@]}"

# --- the refusal log metrics and alerts (as infra/monitoring.tf) --------------------------------
# A catalog read or an API key index read that is empty or sharply shrunk is refused and logged
# as an ERROR (models_api/catalog/guard.py, models_api/keys/guard.py): any such line opens an
# incident. refusal_alert METRIC "METRIC DESCRIPTION" "LOG MESSAGE PREFIX" "ALERT NAME"
# "CONDITION NAME" "ALERT DOCUMENTATION"
SERVICE_LOGS="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${FUNCTION_NAME}\" AND logName=\"projects/${PROJECT}/logs/run.googleapis.com%2Fstdout\""
refusal_alert() {
  local metric="${FUNCTION_NAME}/$1" alert_name="${FUNCTION_NAME}: $4" alert
  exists gcloud logging metrics describe "$metric" --project="$PROJECT" ||
    run gcloud logging metrics create "$metric" --project="$PROJECT" --description="$2" \
      --log-filter="${SERVICE_LOGS} AND severity=ERROR AND jsonPayload.message=~\"^$3\""
  alert=$(mktemp)
  python3 - "$alert" "$alert_name" "$metric" "$FUNCTION_NAME" "$ALERT_EMAIL_CHANNEL" "$5" "$6" <<'PY'
import json, sys
path, name, metric, function, channel, condition, documentation = sys.argv[1:]
policy = {
    "displayName": name,
    "combiner": "OR",
    "notificationChannels": [channel] if channel else [],
    "conditions": [{
        "displayName": condition,
        "conditionThreshold": {
            "filter": f'metric.type="logging.googleapis.com/user/{metric}" AND resource.type="cloud_run_revision" AND resource.labels.service_name="{function}"',
            "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s",
            "aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_SUM", "crossSeriesReducer": "REDUCE_SUM"}],
        },
    }],
    "documentation": {"mimeType": "text/markdown", "content": f"{function} {documentation}"},
}
open(path, "w").write(json.dumps(policy))
PY
  if [[ -n $DRY_RUN ]] || [[ -z $(gcloud alpha monitoring policies list --project="$PROJECT" \
    --filter="displayName=\"${alert_name}\"" --format='value(name)' 2>/dev/null) ]]; then
    run gcloud alpha monitoring policies create --project="$PROJECT" --policy-from-file="$alert"
  fi
  rm -f "$alert"
}
refusal_alert catalog_refused \
  "Catalog reads refused because they were empty or lost more than CATALOG_MAX_SHRINK_FRACTION of the models." \
  "catalog refused" "catalog read refused (empty or shrunk)" \
  "any catalog read refused in 5 minutes" \
  "refused a catalog read that was empty or lost more than CATALOG_MAX_SHRINK_FRACTION of its models: instances keep their cached catalog, new ones answer 503. Check FIRESTORE_DATABASE and the collection; re-run python -m catalog_seed (--confirm for an intended large removal)."
refusal_alert key_index_refused \
  "API key index reads refused because they held no active keys or lost more than API_KEY_MAX_SHRINK_FRACTION of them." \
  "api key index refused" "API key index read refused (empty or shrunk)" \
  "any API key index read refused in 5 minutes" \
  "refused an API key index read with no active keys, or one that lost more than API_KEY_MAX_SHRINK_FRACTION of them without key_admin recording it: instances keep their index, new ones answer API keys with 503. Check API_KEYS_DATABASE and python -m key_admin check-index; python -m key_admin rebuild-index records the counts again."

# Public access without an allUsers binding (domain-restricted sharing): Cloud Run's invoker
# check off, set on the function's service; "none" and "all_users" keep the check on.
want_disabled=False
[[ $PUBLIC_ACCESS != invoker_check_disabled ]] || want_disabled=True
is_disabled=$(query gcloud run services describe "$FUNCTION_NAME" --project="$PROJECT" \
  --region="$REGION" --format='value(metadata.annotations."run.googleapis.com/invoker-iam-disabled")')
[[ ${is_disabled,,} == true ]] && is_disabled=True || is_disabled=False
if [[ -n $DRY_RUN || $is_disabled != "$want_disabled" ]]; then
  check=--invoker-iam-check
  [[ $want_disabled != True ]] || check=--no-invoker-iam-check
  run gcloud run services update "$FUNCTION_NAME" --project="$PROJECT" --region="$REGION" \
    "$check" --quiet
fi

echo "Mint keys against the current pinned pepper version, in the API keys database:"
echo "  API_KEYS_DATABASE=${API_KEYS_DATABASE}"
echo "  API_KEY_PEPPER_SECRET=projects/${PROJECT}/secrets/${PEPPER_SECRET}/versions/${PEPPER_VERSION}"

# === BEGIN daily drift check (infra/drift_check.tf; set DRIFT_CHECK=false to skip) ===========
# A second function from the same upload (entry point drift_check), run daily by Cloud
# Scheduler with the OIDC token of an account that alone may invoke it, whatever PUBLIC_ACCESS
# says for the service. Its own account reads the catalog database only (not the API keys
# database): it never writes the catalog. Metrics and alerts: Terraform. Re-runnable like the
# rest: what exists is kept, the function is redeployed only when its fingerprint changed, the
# invoker binding is added only when missing, the job is updated only when its settings differ.
DRIFT_CHECK=${DRIFT_CHECK:-true}
DRIFT_CHECK_SCHEDULE=${DRIFT_CHECK_SCHEDULE:-17 6 * * *}
DRIFT_CHECK_TIMEOUT_SECONDS=${DRIFT_CHECK_TIMEOUT_SECONDS:-300}
DRIFT_CHECK_LITELLM_URL=${DRIFT_CHECK_LITELLM_URL:-}
DRIFT_CHECK_OPENROUTER_MODELS_URL=${DRIFT_CHECK_OPENROUTER_MODELS_URL:-}
DRIFT_CHECK_OPENROUTER_ENDPOINTS_URL=${DRIFT_CHECK_OPENROUTER_ENDPOINTS_URL:-}
DRIFT_CHECK_GENAI_PRICES_URL=${DRIFT_CHECK_GENAI_PRICES_URL:-}
case $DRIFT_CHECK in
  true | false) ;;
  *) echo "DRIFT_CHECK must be true or false" >&2; exit 64 ;;
esac
if [[ $DRIFT_CHECK == true ]]; then
  DRIFT_FUNCTION="${NAME_PREFIX}-drift-check"
  DRIFT_SA="${NAME_PREFIX}-drift@${PROJECT}.iam.gserviceaccount.com"
  SCHEDULER_SA="${NAME_PREFIX}-sched@${PROJECT}.iam.gserviceaccount.com"
  DRIFT_JOB="${NAME_PREFIX}-drift-check-daily"

  create_account "${NAME_PREFIX}-drift" \
    "Runs the daily drift check of the ${FUNCTION_NAME} catalog (read-only)"
  create_account "${NAME_PREFIX}-sched" \
    "Invokes the daily drift check of ${FUNCTION_NAME} (Cloud Scheduler)"
  # The catalog database only: the condition names it, so the API keys database stays closed.
  run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${DRIFT_SA}" \
    --role=roles/datastore.viewer \
    --condition="expression=${DATABASE_CONDITION},title=only-the-catalog-database"

  drift_env=(
    "GOOGLE_CLOUD_PROJECT=${PROJECT}"
    "FIRESTORE_DATABASE=${FIRESTORE_DATABASE}"
    "DRIFT_LITELLM_URL=${DRIFT_CHECK_LITELLM_URL}"
    "DRIFT_OPENROUTER_MODELS_URL=${DRIFT_CHECK_OPENROUTER_MODELS_URL}"
    "DRIFT_OPENROUTER_ENDPOINTS_URL=${DRIFT_CHECK_OPENROUTER_ENDPOINTS_URL}"
    "DRIFT_GENAI_PRICES_URL=${DRIFT_CHECK_GENAI_PRICES_URL}"
  )
  drift_joined=$(IFS=';'; echo "${drift_env[*]}")
  drift_flags=(
    --gen2 --project="$PROJECT" --region="$REGION"
    --runtime="$PYTHON_RUNTIME" --source=. --entry-point=drift_check --trigger-http
    --no-allow-unauthenticated --service-account="$DRIFT_SA"
    --build-service-account="projects/${PROJECT}/serviceAccounts/${BUILD_SA}"
    --docker-repository="projects/${PROJECT}/locations/${REGION}/repositories/${REPOSITORY}"
    --set-env-vars="^;^${drift_joined}"
    --cpu=1 --memory=512Mi --concurrency=1 --min-instances=0 --max-instances=1
    --timeout="${DRIFT_CHECK_TIMEOUT_SECONDS}s" --ingress-settings=internal-only
  )
  deploy_function "$DRIFT_FUNCTION" "${drift_flags[@]}"

  # Invokers: the scheduler's account and nobody else (PUBLIC_ACCESS is the service's, never
  # this function's): a missing binding is added, any other run.invoker member removed, and
  # Cloud Run's invoker check kept on.
  invokers=$(query gcloud run services get-iam-policy "$DRIFT_FUNCTION" --project="$PROJECT" \
    --region="$REGION" --flatten='bindings[].members' \
    --filter='bindings.role=roles/run.invoker' --format='value(bindings.members)')
  grep -qxF "serviceAccount:${SCHEDULER_SA}" <<<"$invokers" ||
    run gcloud functions add-invoker-policy-binding "$DRIFT_FUNCTION" --project="$PROJECT" \
      --region="$REGION" --member="serviceAccount:${SCHEDULER_SA}"
  while read -r member; do
    [[ -n $member && $member != "serviceAccount:${SCHEDULER_SA}" ]] || continue
    echo "Drift check: removing invoker ${member} (only the scheduler's account may invoke it)"
    run gcloud functions remove-invoker-policy-binding "$DRIFT_FUNCTION" --project="$PROJECT" \
      --region="$REGION" --member="$member"
  done <<<"$invokers"
  drift_check_off=$(query gcloud run services describe "$DRIFT_FUNCTION" --project="$PROJECT" \
    --region="$REGION" --format='value(metadata.annotations."run.googleapis.com/invoker-iam-disabled")')
  if [[ ${drift_check_off,,} == true ]]; then
    run gcloud run services update "$DRIFT_FUNCTION" --project="$PROJECT" --region="$REGION" \
      --invoker-iam-check --quiet
  fi

  if [[ -n $DRY_RUN ]]; then
    drift_uri="https://${DRIFT_FUNCTION}-uri.run.app"
  else
    drift_uri=$(gcloud functions describe "$DRIFT_FUNCTION" --gen2 --project="$PROJECT" \
      --region="$REGION" --format='value(serviceConfig.uri)')
  fi
  job_flags=(
    --project="$PROJECT" --location="$REGION"
    --schedule="$DRIFT_CHECK_SCHEDULE" --time-zone=Etc/UTC
    --uri="$drift_uri" --http-method=POST --oidc-service-account-email="$SCHEDULER_SA"
    --oidc-token-audience="$drift_uri" --attempt-deadline="$((DRIFT_CHECK_TIMEOUT_SECONDS + 30))s"
    --max-retry-attempts=2 --min-backoff=600s --max-backoff=1800s
  )
  # The job as it is, in the same words as the flags above ("" when there is none).
  job_now=$(query gcloud scheduler jobs describe "$DRIFT_JOB" --project="$PROJECT" \
    --location="$REGION" --format='value(schedule,timeZone,httpTarget.uri,httpTarget.httpMethod,httpTarget.oidcToken.serviceAccountEmail,httpTarget.oidcToken.audience,attemptDeadline,retryConfig.retryCount,retryConfig.minBackoffDuration,retryConfig.maxBackoffDuration)')
  job_wanted=$(printf '%s\t' "$DRIFT_CHECK_SCHEDULE" Etc/UTC "$drift_uri" POST "$SCHEDULER_SA" \
    "$drift_uri" "$((DRIFT_CHECK_TIMEOUT_SECONDS + 30))s" 2 600s 1800s)
  if [[ -z $job_now ]]; then
    run gcloud scheduler jobs create http "$DRIFT_JOB" "${job_flags[@]}"
  elif [[ $job_now != "${job_wanted%$'\t'}" ]]; then
    run gcloud scheduler jobs update http "$DRIFT_JOB" "${job_flags[@]}"
  else
    echo "Scheduler job ${DRIFT_JOB}: already set"
  fi
  echo "Drift check: gcloud scheduler jobs run ${DRIFT_JOB} --location=${REGION} --project=${PROJECT}"
fi
# === END daily drift check ===================================================================
