# The service: APIs, Firestore database, pepper secret, service accounts, image repository,
# source upload and the function. Names and settings come from settings.tf, the uploaded file
# list from source_files.tf (driven by .gcloudignore), grants from iam.tf.

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_project_service" "apis" {
  for_each = toset(concat(local.apis, local.app_check ? local.app_check_apis : []))

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# ---------------------------------------------------------------------------------------------
# Firestore. Most Firebase projects already have the (default) database: creating it again
# returns 409, so with adopt_existing_firestore_database = true it is imported (then managed:
# PITR and delete protection are applied in place). for_each with one key only because an
# `import` block can be conditional only through for_each, which needs an expanded resource.
# ---------------------------------------------------------------------------------------------

import {
  for_each = var.adopt_existing_firestore_database ? toset([var.firestore_database_id]) : toset([])

  to = google_firestore_database.main[each.key]
  id = "projects/${var.project_id}/databases/${each.key}"
}

resource "google_firestore_database" "main" {
  for_each = toset([var.firestore_database_id])

  project                           = var.project_id
  name                              = each.key
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"

  lifecycle {
    # A location cannot change: never plan a replacement of an adopted database because
    # firestore_location differs from where it really is.
    ignore_changes = [location_id]
  }

  depends_on = [google_project_service.apis["firestore.googleapis.com"]]
}

# ---------------------------------------------------------------------------------------------
# The API-key pepper. Terraform generates it as an ephemeral value and writes it through a
# write-only argument, so it never appears in the plan or the state. The function is pinned to
# the version written here (not `latest`): a stray `versions add` cannot make new instances
# disagree with running ones, and key minting uses the same version (output
# pepper_secret_version). Rotation is a deliberate pepper_version bump and redeploy.
# ---------------------------------------------------------------------------------------------

resource "google_secret_manager_secret" "pepper" {
  project   = var.project_id
  secret_id = local.names.pepper_secret_id
  labels    = var.labels
  # Deleting the secret would invalidate every API key.
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis["secretmanager.googleapis.com"]]
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

# ---------------------------------------------------------------------------------------------
# Service accounts (they need iam.googleapis.com enabled first).
# ---------------------------------------------------------------------------------------------

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = local.names.runtime_account_id
  display_name = "Runtime of the ${var.function_name} catalog function (read-only)"

  depends_on = [google_project_service.apis["iam.googleapis.com"]]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = local.names.build_account_id
  display_name = "Builds the ${var.function_name} function from source"

  depends_on = [google_project_service.apis["iam.googleapis.com"]]
}

# ---------------------------------------------------------------------------------------------
# The function's images: a repository we own (instead of the shared gcf-artifacts one), so the
# build account's writer grant is scoped to it and old images are cleaned up.
# ---------------------------------------------------------------------------------------------

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Holds images built from this repository's public source; Google-managed encryption is enough.
  project                = var.project_id
  location               = var.region
  repository_id          = local.names.repository_id
  format                 = "DOCKER"
  description            = "Images of the ${var.function_name} function (built by Cloud Build)"
  labels                 = var.labels
  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"

    most_recent_versions {
      keep_count = var.image_keep_count
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"

    condition {
      tag_state  = "ANY"
      older_than = local.image_max_age
    }
  }

  depends_on = [google_project_service.apis["artifactregistry.googleapis.com"]]
}

# ---------------------------------------------------------------------------------------------
# Source upload: the files .gcloudignore lets through (source_files.tf), zipped, under a name
# derived from their contents. The zip's own bytes (timestamps) never trigger a rebuild.
# ---------------------------------------------------------------------------------------------

# Google-managed encryption: the bucket holds this repository's public source, nothing secret.
#trivy:ignore:GCP-0066
resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Holds only zips of public source that the function service copies once per deploy; no access log is worth keeping.
  project                     = var.project_id
  name                        = local.names.source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  # Objects are named by content hash: a change of source replaces the object (the old one
  # becomes a noncurrent version), and noncurrent versions are deleted after a day. The function
  # service copies the zip when it deploys, so no old zip is ever needed again.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis["storage.googleapis.com"]]
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/build/source.zip"

  dynamic "source" {
    for_each = toset(local.source_files)

    content {
      filename = source.value
      content  = file("${local.source_root}/${source.value}")
    }
  }
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${substr(local.source_hash, 0, 32)}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path

  lifecycle {
    # The name already changes with the content; a zip rebuilt with other timestamps is the
    # same source and must not replace the object.
    ignore_changes = [source, detect_md5hash]
  }
}

# The build and runtime grants (iam.tf) take a while to propagate; a build started at once can
# fail to read its source or push its image. The provider's own builder example waits too.
resource "time_sleep" "iam_propagation" {
  create_duration = var.iam_propagation_wait

  triggers = {
    grants = join(",", concat(
      [for k, v in google_project_iam_member.build : v.id],
      [
        google_project_iam_member.build_reads_function_sources.id,
        google_artifact_registry_repository_iam_member.build_pushes_images.id,
        google_project_iam_member.runtime_reads_firestore.id,
        google_secret_manager_secret_iam_member.runtime_reads_pepper.id,
      ],
    ))
  }
}

resource "google_cloudfunctions2_function" "main" {
  #checkov:skip=CKV_GCP_124:A public API for API customers and browsers: ingress is a variable (default ALLOW_ALL) and every request is authenticated by the handler.
  project     = var.project_id
  name        = var.function_name
  location    = var.region
  description = "GET /models: the model catalog of the inference API"
  labels      = var.labels

  build_config {
    runtime           = local.service_settings.runtime
    entry_point       = local.service_settings.entry_point
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.images.id

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
    google_project_service.apis["cloudfunctions.googleapis.com"],
    google_project_service.apis["cloudbuild.googleapis.com"],
    google_project_service.apis["run.googleapis.com"],
    google_project_service.apis["artifactregistry.googleapis.com"],
    google_firestore_database.main,
    time_sleep.iam_propagation,
  ]
}
