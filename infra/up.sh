#!/usr/bin/env bash
# From a fresh clone and a project id to a verified deployment, in one command:
#
#   infra/up.sh PROJECT_ID --alert-email oncall@example.com
#   infra/up.sh PROJECT_ID --notification-channel projects/P/notificationChannels/123
#   infra/up.sh PROJECT_ID --no-alert-notifications     # alerts open incidents only
#   ... --confirm-seed    write the catalog after its dry run without asking (non-interactive)
#   ... --adopt-unmarked  once, when an older seed (before it marked its documents) filled it
#
# The steps (infra/README.md, "One command", lists the same): tools and venv, gcloud login,
# application-default credentials with a quota project, project and billing, bootstrap APIs,
# the caller's permissions, what the project already has (database, domain-restricted sharing),
# the state bucket, terraform.tfvars, init + apply, seed (dry run, then for real), the first API
# key, the system tests against the deployed URL. Every step checks before it changes anything
# and is safe to re-run; the first key is minted once (its id is kept in infra/.up-first-key).
#
# Settings: REGION (us-central1), STATE_BUCKET (<project>-tfstate), PUBLIC_ACCESS (detected),
# FIRESTORE_DATABASE (catalog), AUTO_APPROVE=1 (apply without asking), KEY_OWNER ("platform").
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-64}"
}
[[ ${1:-} == -h || ${1:-} == --help ]] && usage 0
PROJECT=${1:-}
[[ -n $PROJECT ]] || usage
shift
notification_channels=() alert_email="" notify_asked="" confirm_seed="" seed_flags=()
while (($#)); do
  case $1 in
    --alert-email) alert_email=${2:?}; notify_asked=1; shift 2 ;;
    --notification-channel) notification_channels+=("${2:?}"); notify_asked=1; shift 2 ;;
    --no-alert-notifications) notify_asked=1; shift ;;
    --confirm-seed) confirm_seed=1; shift ;;
    --adopt-unmarked) seed_flags+=(--adopt-unmarked); shift ;;
    *) usage ;;
  esac
done
REGION=${REGION:-us-central1}
CATALOG_DATABASE=${FIRESTORE_DATABASE:-catalog}
STATE_BUCKET=${STATE_BUCKET:-${PROJECT}-tfstate}
KEY_OWNER=${KEY_OWNER:-platform}
TFVARS=infra/terraform.tfvars
step_number=0
step() {
  step_number=$((step_number + 1))
  printf '\n== %d. %s\n' "$step_number" "$1"
}
fail() {
  echo "up.sh: $*" >&2
  exit 1
}

step "Tools and the Python environment"
for tool in gcloud terraform python3 curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (infra/README.md, Prerequisites)"
done
terraform version -json | python3 -c 'import json,sys; v=json.load(sys.stdin)["terraform_version"]; sys.exit(tuple(map(int, v.split(".")[:2])) < (1, 11))' ||
  fail "Terraform >= 1.11 is needed (write-only arguments)"
python3 -c 'import ensurepip, venv' 2>/dev/null ||
  fail "python3 cannot create a virtual environment: install python3-venv (Debian/Ubuntu)"
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt

step "gcloud login"
account=$(gcloud auth list --filter=status:ACTIVE --format='value(account)' | head -n1)
[[ -n $account ]] || fail "not logged in: run \`gcloud auth login\`, then this again"
echo "gcloud runs as ${account}"

step "Application-default credentials (Terraform, the seed and key_admin) with a quota project"
adc_token=$(gcloud auth application-default print-access-token 2>/dev/null) ||
  fail "no application-default credentials: run \`gcloud auth application-default login\`, then this again"
# The seed and key_admin run as the ADC account, which can differ from gcloud's login: step 9
# grants it their roles. A key file names its service account; otherwise Google's tokeninfo
# says whose the token is (the token goes on stdin, never on a command line).
adc_file=${GOOGLE_APPLICATION_CREDENTIALS:-${CLOUDSDK_CONFIG:-$HOME/.config/gcloud}/application_default_credentials.json}
member=$(python3 infra/adc_member.py key-file "$adc_file")
if [[ -z $member ]]; then
  member=$(printf '%s' "$adc_token" |
    curl -sSf -G --data-urlencode access_token@- "https://oauth2.googleapis.com/tokeninfo" |
    python3 infra/adc_member.py tokeninfo) || member=""
fi
if [[ -n $member ]]; then
  echo "the seed and key_admin run as ${member}"
elif [[ ! -f $TFVARS ]]; then
  fail "cannot tell which account the application-default credentials are (${adc_file} names none;" \
    "Google's tokeninfo gave no email): write ${TFVARS} yourself (infra/terraform.tfvars.example)" \
    "with that account in catalog_editors and key_admins, then run this again"
fi
# set-quota-project writes only gcloud's own ADC file, and refuses a service account's.
if [[ -z ${GOOGLE_APPLICATION_CREDENTIALS:-} ]]; then
  gcloud auth application-default set-quota-project "$PROJECT" --quiet >/dev/null 2>&1 ||
    fail "cannot bill API calls to ${PROJECT}: you need serviceusage.services.use on it"
fi

step "Project and billing"
gcloud projects describe "$PROJECT" --format='value(projectId)' >/dev/null ||
  fail "project ${PROJECT} not found or not visible to ${account}"
billing=$(gcloud billing projects describe "$PROJECT" --format='value(billingEnabled)' 2>/dev/null ||
  echo unknown)
case $billing in
  True) ;;
  False) fail "billing is not enabled on ${PROJECT}: Cloud Functions need it" ;;
  *) echo "warning: cannot read ${PROJECT}'s billing (needs billing.resourceAssociations.list); continuing" ;;
esac

step "Bootstrap APIs (the ones Terraform needs to enable the others)"
gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com \
  --project="$PROJECT"

step "Your permissions on the project"
# What the apply does, as permissions (infra/README.md, Prerequisites, lists them as roles).
needed=(
  serviceusage.services.enable resourcemanager.projects.setIamPolicy iam.serviceAccounts.create
  iam.serviceAccounts.actAs datastore.databases.create firebaserules.releases.create
  secretmanager.secrets.create storage.buckets.create artifactregistry.repositories.create
  cloudfunctions.functions.create run.services.setIamPolicy run.services.update
  monitoring.alertPolicies.create logging.logMetrics.create
  cloudscheduler.jobs.create  # the daily drift check's job (enable_drift_check, on by default)
)
body=$(printf '%s\n' "${needed[@]}" | python3 -c 'import json,sys; print(json.dumps({"permissions": sys.stdin.read().split()}))')
# Asked with the application-default credentials: the ones the apply runs with.
granted=$(curl -sSf -X POST -H "Authorization: Bearer $(gcloud auth application-default print-access-token)" \
  -H "x-goog-user-project: ${PROJECT}" -H "Content-Type: application/json" --data "$body" \
  "https://cloudresourcemanager.googleapis.com/v1/projects/${PROJECT}:testIamPermissions" |
  python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("permissions", [])))')
missing=()
for permission in "${needed[@]}"; do
  [[ " $granted " == *" $permission "* ]] || missing+=("$permission")
done
((${#missing[@]} == 0)) || fail "missing on ${PROJECT}: ${missing[*]} (roles: infra/README.md, Prerequisites)"

step "What the project already has"
adopt=false
gcloud firestore databases describe --database="$CATALOG_DATABASE" --project="$PROJECT" >/dev/null 2>&1 && adopt=true
echo "catalog database ${CATALOG_DATABASE} exists: ${adopt} (adopted and left as it is when true)"
if [[ -z ${PUBLIC_ACCESS:-} ]]; then
  # Domain-restricted sharing refuses allUsers bindings: turn off the invoker check instead. Both
  # constraints: the legacy list one and the managed one that replaces it; one that cannot be
  # read counts as enforced (the invoker-check path works either way).
  PUBLIC_ACCESS=all_users
  for constraint in iam.allowedPolicyMemberDomains iam.managed.allowedPolicyMembers; do
    policy=$(gcloud org-policies describe "$constraint" --project="$PROJECT" --effective \
      --format=json 2>/dev/null) || { PUBLIC_ACCESS=invoker_check_disabled; continue; }
    python3 -c 'import json,sys; p=json.loads(sys.argv[1] or "{}"); r=[x for x in (p.get("spec") or {}).get("rules", []) if x.get("enforce") or x.get("values") or x.get("denyAll") or x.get("parameters")]; sys.exit(0 if r else 1)' "$policy" &&
      PUBLIC_ACCESS=invoker_check_disabled
  done
fi
echo "public access: ${PUBLIC_ACCESS}"

step "Terraform state bucket gs://${STATE_BUCKET} (versioned)"
if ! gcloud storage buckets describe "gs://${STATE_BUCKET}" >/dev/null 2>&1; then
  gcloud storage buckets create "gs://${STATE_BUCKET}" --project="$PROJECT" --location="$REGION" \
    --uniform-bucket-level-access --public-access-prevention
fi
gcloud storage buckets update "gs://${STATE_BUCKET}" --versioning >/dev/null

step "infra/terraform.tfvars"
if [[ -f $TFVARS ]]; then
  echo "kept as it is (edit it or delete it to have it written again): ${TFVARS}"
  grep -E '^(project_id|public_access|firestore_database_id|adopt_existing_firestore_database) ' "$TFVARS" || true
  grep -q "\"${PROJECT}\"" "$TFVARS" || fail "${TFVARS} is for another project: move it away, then run this again"
  grep -q "\"${PUBLIC_ACCESS}\"" "$TFVARS" ||
    echo "warning: ${TFVARS} does not say public_access = \"${PUBLIC_ACCESS}\" (detected now)"
  [[ -z $member ]] || grep -q "\"${member}\"" "$TFVARS" ||
    echo "warning: ${TFVARS} does not name ${member} (ADC): the seed and key_admin need catalog_editors and key_admins"
else
  [[ -n $notify_asked ]] ||
    fail "say where alerts go: --alert-email, --notification-channel or --no-alert-notifications"
  channels=""
  for channel in "${notification_channels[@]+"${notification_channels[@]}"}"; do
    channels+="\"${channel}\","
  done
  cat >"$TFVARS" <<TFVARS
# Written by infra/up.sh; edit and re-run. Every variable: infra/variables.tf, infra/README.md.
project_id                        = "${PROJECT}"
region                            = "${REGION}"
firestore_database_id             = "${CATALOG_DATABASE}"
adopt_existing_firestore_database = ${adopt}
public_access                     = "${PUBLIC_ACCESS}"
notification_channels             = [${channels%,}]
alert_email                       = "${alert_email}"
# The ADC account seeds the catalog and mints the first key (roles on both databases, the pepper).
catalog_editors = ["${member}"]
key_admins      = ["${member}"]
TFVARS
  echo "written: ${TFVARS}"
fi

step "terraform init and apply"
terraform -chdir=infra init -input=false -backend-config="bucket=${STATE_BUCKET}"
apply_flags=(-input=false)
[[ ${AUTO_APPROVE:-} != 1 ]] || apply_flags+=(-auto-approve)
terraform -chdir=infra apply "${apply_flags[@]}"
output() { terraform -chdir=infra output -raw "$1"; }
URL=$(output url)
export GOOGLE_CLOUD_PROJECT=$PROJECT
FIRESTORE_DATABASE=$(terraform -chdir=infra output -json firestore_database | python3 -c 'import json,sys; print(json.load(sys.stdin).rsplit("/", 1)[-1])')
API_KEYS_DATABASE=$(terraform -chdir=infra output -json api_keys_database | python3 -c 'import json,sys; print(json.load(sys.stdin).rsplit("/", 1)[-1])')
export FIRESTORE_DATABASE API_KEYS_DATABASE
API_KEY_PEPPER_SECRET=$(output pepper_secret_version)
export API_KEY_PEPPER_SECRET

# A grant made by this apply can take minutes to apply to you: retry a few times.
retry() {
  local attempt
  for attempt in 1 2 3 4 5 6; do
    "$@" && return 0
    echo "(not yet; IAM propagation can take minutes: retry ${attempt}/6 in 30 s)" >&2
    sleep 30
  done
  return 1
}

step "Seed the catalog (dry run, your confirmation, then for real)"
seed=(.venv/bin/python -m catalog_seed --project "$PROJECT" --database "$FIRESTORE_DATABASE" "${seed_flags[@]}")
# Exit 2 (Firestore refused or unreachable) can be a new grant not applied yet: retry that. Exit
# 1 is the seed's own refusal (e.g. documents it did not write): its message says what to do.
for attempt in 1 2 3 4 5 6; do
  seed_status=0
  "${seed[@]}" --dry-run || seed_status=$?
  ((seed_status == 2 && attempt < 6)) || break
  echo "(not yet; IAM propagation can take minutes: retry ${attempt}/6 in 30 s)" >&2
  sleep 30
done
((seed_status == 0)) || fail "the seed's dry run exited ${seed_status} (above); nothing was written"
if [[ -z $confirm_seed ]]; then
  [[ -t 0 ]] || fail "read the dry run above, then run this again with --confirm-seed to write it"
  read -r -p "Write this to database ${FIRESTORE_DATABASE}? [y/N] " answer
  [[ $answer == [yY]* ]] || fail "nothing written to ${FIRESTORE_DATABASE}; run this again to seed"
fi
"${seed[@]}"

step "The first API key (shown once)"
key_file=infra/.up-first-key
if [[ -s $key_file ]]; then
  echo "a first key was minted before (key id $(head -n1 "$key_file"))"
  API_KEY=${API_KEY:-}
else
  minted=$(retry .venv/bin/python -m key_admin create --owner "$KEY_OWNER" --label "first key (infra/up.sh)")
  echo "$minted" | sed -n 's/^key id: *//p' >"$key_file"
  API_KEY=$(echo "$minted" | head -n1)  # create prints the key first
  echo "$minted"
fi
# The database and pepper matter: a key minted elsewhere is one the service never finds.
echo "more keys: GOOGLE_CLOUD_PROJECT=${PROJECT} API_KEYS_DATABASE=${API_KEYS_DATABASE}" \
  "API_KEY_PEPPER_SECRET=${API_KEY_PEPPER_SECRET} .venv/bin/python -m key_admin create --owner ACCOUNT"

step "System tests against ${URL}"
if [[ -z $API_KEY ]]; then
  echo "skipped: set API_KEY to a live key to run them (the first key is shown only once)"
else
  # Instances learn of a new key within twice API_KEY_REFRESH_SECONDS (8 s by default).
  sleep 10
  BASE_URL=$URL API_KEY=$API_KEY retry .venv/bin/python -m pytest tests/system -m deployed -q -p no:cacheprovider
fi

printf '\nDeployed and verified: %s/models\n' "$URL"
