#!/usr/bin/env bash
# Turns Cloud Run's invoker IAM check off (CHECK=off) or on (CHECK=on) for the Cloud Run service
# behind a gen2 function, then reads it back and fails unless it took. Terraform runs it
# (iam.tf, public_access = "invoker_check_disabled"); an operator can too.
#
#   PROJECT=p REGION=us-central1 SERVICE=models CHECK=off infra/gcloud/invoker_check.sh
#
# SERVICE may be the short name or the full projects/P/locations/R/services/S the provider
# returns: gcloud takes only the short name, so the last path segment is used.
# Credentials: the ones Terraform uses (use_adc.sh), never gcloud's own login.
set -euo pipefail
: "${PROJECT:?}" "${REGION:?}" "${SERVICE:?}"
CHECK=${CHECK:-off}
SERVICE=${SERVICE##*/}
case $CHECK in
  off) flag=--no-invoker-iam-check wanted=true ;;
  on) flag=--invoker-iam-check wanted="" ;;
  *) echo "invoker_check.sh: CHECK must be on or off" >&2; exit 64 ;;
esac

# shellcheck source=use_adc.sh
source "$(dirname "$0")/use_adc.sh"

gcloud run services update "$SERVICE" --project="$PROJECT" --region="$REGION" "$flag" --quiet
now=$(gcloud run services describe "$SERVICE" --project="$PROJECT" --region="$REGION" \
  --format='value(metadata.annotations."run.googleapis.com/invoker-iam-disabled")')
if [[ ${now,,} != "$wanted" ]]; then
  echo "invoker_check.sh: ${SERVICE}'s invoker check is not ${CHECK} after the update" >&2
  exit 1
fi
echo "invoker_check.sh: ${SERVICE}: invoker IAM check ${CHECK}"
