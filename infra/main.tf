locals {
  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]

  # One gunicorn worker per vCPU, threads_per_worker threads each (measured: README, Performance).
  workers = tonumber(var.cpu)

  # Every name here is read by models_api/config.py (checked by tests/infra).
  environment = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    FIREBASE_PROJECT_ID       = var.firebase_project_id != "" ? var.firebase_project_id : var.project_id
    FIRESTORE_DATABASE        = google_firestore_database.main.name
    CORS_ALLOWED_ORIGINS      = join(",", var.cors_allowed_origins)
    CATALOG_CACHE_TTL_SECONDS = tostring(var.catalog_cache_ttl_seconds)
    API_KEY_CACHE_TTL_SECONDS = tostring(var.api_key_cache_ttl_seconds)
    BACKEND_TIMEOUT_SECONDS   = tostring(var.backend_timeout_seconds)
    TRUSTED_PROXY_HOPS        = "1"
    WORKERS                   = tostring(local.workers)
    THREADS                   = tostring(var.threads_per_worker)
  }

  source_excludes = [
    ".git", ".venv", ".venv-tools", "node_modules", "tests", "infra", "bench", ".ci", ".run",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "scripts", "catalog_seed",
  ]
}

resource "google_project_service" "apis" {
  for_each = toset(local.apis)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_firestore_database" "main" {
  project                           = var.project_id
  name                              = var.firestore_database_id
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"

  depends_on = [google_project_service.apis]
}

# The API-key pepper. Terraform generates it as an ephemeral value and writes it through a
# write-only argument, so it never appears in the plan or the state.
resource "google_secret_manager_secret" "pepper" {
  project   = var.project_id
  secret_id = "${var.function_name}-api-key-pepper"
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

ephemeral "random_password" "pepper" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret_version" "pepper" {
  secret                 = google_secret_manager_secret.pepper.id
  secret_data_wo         = ephemeral.random_password.pepper.result
  secret_data_wo_version = var.pepper_version
}

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.function_name}-runtime"
  display_name = "Runtime of the ${var.function_name} catalog function (read-only)"
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.function_name}-build"
  display_name = "Builds the ${var.function_name} function from source"
}

# Google-managed encryption: the bucket holds this repository's public source, nothing secret.
#trivy:ignore:GCP-0066
resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Holds only build inputs (zipped source); Cloud Audit Logs cover access, a second log bucket adds nothing.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.function_name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }
    action {
      type = "Delete"
    }
  }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/build/source.zip"
  excludes    = local.source_excludes
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "main" {
  #checkov:skip=CKV_GCP_124:A public API for API customers and browsers: ingress is a variable (default ALLOW_ALL) and every request is authenticated by the handler.
  project     = var.project_id
  name        = var.function_name
  location    = var.region
  description = "GET /models: the model catalog of the inference API"
  labels      = var.labels

  build_config {
    runtime         = var.python_runtime
    entry_point     = "models"
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime.email
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = var.concurrency
    available_cpu                    = var.cpu
    available_memory                 = var.memory
    timeout_seconds                  = var.timeout_seconds
    ingress_settings                 = var.ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = local.environment

    secret_environment_variables {
      key        = "API_KEY_PEPPER"
      project_id = var.project_id
      secret     = google_secret_manager_secret.pepper.secret_id
      version    = google_secret_manager_secret_version.pepper.version
    }
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.runtime_reads_pepper,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}
