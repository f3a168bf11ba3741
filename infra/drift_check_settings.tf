# Names and settings of the daily drift check (drift_check.tf), from variables only, so
# tests/infra can evaluate this file with settings.tf offline and compare it with the block
# infra/gcloud/deploy.sh runs. Only var.* and local.* in here.

locals {
  drift_names = {
    function_name        = "${local.name_prefix}-drift-check"       # Cloud Run service: < 50
    runtime_account_id   = "${local.name_prefix}-drift"             # 6-30 chars
    scheduler_account_id = "${local.name_prefix}-sched"             # 6-30 chars
    scheduler_job        = "${local.name_prefix}-drift-check-daily" # 1-500 chars
  }

  # The drift check's environment (read by drift_check/settings.py). Empty URLs: the public
  # datasets (OpenRouter's API, LiteLLM's and genai-prices' JSON on raw.githubusercontent.com).
  drift_environment = {
    GOOGLE_CLOUD_PROJECT           = var.project_id
    FIRESTORE_DATABASE             = var.firestore_database_id
    DRIFT_LITELLM_URL              = var.drift_check_litellm_url
    DRIFT_OPENROUTER_MODELS_URL    = var.drift_check_openrouter_models_url
    DRIFT_OPENROUTER_ENDPOINTS_URL = var.drift_check_openrouter_endpoints_url
    DRIFT_GENAI_PRICES_URL         = var.drift_check_genai_prices_url
  }

  # One run at a time, scaled to zero between runs; internal ingress (Cloud Scheduler's calls
  # count as internal traffic); only the scheduler's account may invoke it.
  drift_settings = {
    entry_point     = "drift_check"
    cpu             = "1"
    memory          = "512Mi"
    concurrency     = "1"
    min_instances   = "0"
    max_instances   = "1"
    timeout_seconds = tostring(var.drift_check_timeout_seconds)
    ingress         = "ALLOW_INTERNAL_ONLY"
    schedule        = var.drift_check_schedule
    time_zone       = "Etc/UTC"
  }
}
