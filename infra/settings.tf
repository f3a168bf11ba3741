# Names and settings derived from variables only (no resources, no providers), so tests/infra
# can evaluate this file with a real `terraform apply` offline and compare the result with what
# infra/gcloud/deploy.sh sets. Keep it that way: only var.* and local.* in here.

locals {
  name_prefix = var.name_prefix != "" ? var.name_prefix : var.function_name

  # Every derived name, with the rule Google enforces on it (checked by tests/infra for the
  # longest inputs the variables allow).
  names = {
    runtime_account_id = "${local.name_prefix}-run"                   # 6-30 chars
    build_account_id   = "${local.name_prefix}-build"                 # 6-30 chars
    pepper_secret_id   = "${local.name_prefix}-api-key-pepper"        # 1-255 chars
    repository_id      = "${local.name_prefix}-images"                # 1-63 chars
    source_bucket      = "${var.project_id}-${local.name_prefix}-src" # 3-63 chars
    # The bucket gen2 builds read the function's source from (the service copies the upload
    # there): https://cloud.google.com/functions/docs/building ("gcf-v2-sources-...").
    gcf_sources_bucket_prefix = "gcf-v2-sources-"
  }

  firebase_project_id = var.firebase_project_id != "" ? var.firebase_project_id : var.project_id

  # The client address is the X-Forwarded-For entry this many from the right
  # (models_api/http/request_context.py). Google's front end appends the client it sees; an external
  # Application Load Balancer appends "<client>,<load balancer>" (README, Client addresses).
  trusted_proxy_hops = var.trusted_proxy_hops != null ? var.trusted_proxy_hops : lookup(
    { ALLOW_ALL = 1, ALLOW_INTERNAL_ONLY = 1, ALLOW_INTERNAL_AND_GCLB = 2 }, var.ingress, 1
  )

  # One gunicorn worker per vCPU, threads_per_worker threads each (README, Performance).
  workers = tonumber(var.cpu)

  # The service's environment. Every name is read by models_api/config.py (checked by
  # tests/infra, which also checks deploy.sh sets exactly the same values). The peppers and
  # their version numbers are not here: they come from the secret versions (see pepper.tf).
  environment = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    FIREBASE_PROJECT_ID       = local.firebase_project_id
    FIRESTORE_DATABASE        = var.firestore_database_id
    API_KEYS_DATABASE         = var.api_keys_database_id
    CORS_ALLOWED_ORIGINS      = join(",", var.cors_allowed_origins)
    CATALOG_CACHE_TTL_SECONDS = tostring(var.catalog_cache_ttl_seconds)
    API_KEY_REFRESH_SECONDS   = tostring(var.api_key_refresh_seconds)
    BACKEND_TIMEOUT_SECONDS   = tostring(var.backend_timeout_seconds)
    TRUSTED_PROXY_HOPS        = tostring(local.trusted_proxy_hops)
    WORKERS                   = tostring(local.workers)
    THREADS                   = tostring(var.threads_per_worker)
    MALLOC_ARENA_MAX          = "2" # glibc's arenas per process (docs/performance.md#memory)

    # The web app's App Check app id: the only app whose App Check tokens are accepted (empty:
    # every App Check token is refused). Its middle part is the project number `iss` names.
    APP_CHECK_APP_IDS           = var.app_check_web_app_id
    CATALOG_MAX_SHRINK_FRACTION = tostring(var.catalog_max_shrink_fraction)
  }

  # What the function's service runs with, in the terms both deployment paths use.
  service_settings = {
    runtime         = var.python_runtime
    entry_point     = "models"
    cpu             = var.cpu
    memory          = var.memory
    concurrency     = tostring(var.concurrency)
    min_instances   = tostring(var.min_instances)
    max_instances   = tostring(var.max_instances)
    timeout_seconds = tostring(var.timeout_seconds)
    ingress         = var.ingress
    public_access   = var.public_access
  }

  # The APIs the service needs (deploy.sh enables the same list; App Check adds two when on).
  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com", # the daily drift check (drift_check.tf)
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
  app_check_apis = ["firebaseappcheck.googleapis.com", "recaptchaenterprise.googleapis.com"]
  app_check      = var.app_check_web_app_id != ""

  # Project-level roles of the build account: only logging has no narrower scope. Its image
  # push is granted on our repository, its source read on the gcf-v2-sources bucket (iam.tf).
  build_project_roles = ["roles/logging.logWriter"]

  # Artifact Registry cleanup (deploy.sh writes the same two policies).
  image_max_age = "${var.image_max_age_days * 86400}s"
}
