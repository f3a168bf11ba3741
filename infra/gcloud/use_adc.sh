# Sourced (bash): makes every later gcloud call in the script use the credentials Terraform
# uses: GOOGLE_OAUTH_ACCESS_TOKEN when set, else Application Default Credentials; never gcloud's
# own login. The token reaches gcloud through a 0600 file (CLOUDSDK_AUTH_ACCESS_TOKEN_FILE)
# removed when the script exits; it is never on a command line or in the output.
adc_token_file=$(umask 077 && mktemp)
trap 'rm -f "$adc_token_file"' EXIT
if [[ -n ${GOOGLE_OAUTH_ACCESS_TOKEN:-} ]]; then
  printf '%s\n' "$GOOGLE_OAUTH_ACCESS_TOKEN" >"$adc_token_file"
elif ! gcloud auth application-default print-access-token >"$adc_token_file"; then
  echo "$(basename "$0"): no Application Default Credentials (the ones Terraform uses): run" \
    "\`gcloud auth application-default login\` or set GOOGLE_APPLICATION_CREDENTIALS" >&2
  exit 1
fi
export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=$adc_token_file
