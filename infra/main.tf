# The service: APIs, Firestore databases, service accounts, image repository, source upload and
# the function. The pepper is in pepper.tf, names and settings in settings.tf, the uploaded file
# list in source_files.tf (driven by .gcloudignore), grants in iam.tf.

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
# returns 409, so with adopt_existing_firestore_database = true it is imported. An adopted
# database is the project's, not ours: its settings are left as they are (ignore_changes) and
# `terraform destroy` abandons it (deletion_policy ABANDON), whatever deletion_protection says.
# for_each with one key only because an `import` block can be conditional only through
# for_each, which needs an expanded resource.
# ---------------------------------------------------------------------------------------------

import {
  for_each = var.adopt_existing_firestore_database ? toset([var.firestore_database_id]) : toset([])

  to = google_firestore_database.main[each.key]
  id = "projects/${var.project_id}/databases/${each.key}"
}

resource "google_firestore_database" "main" {
  for_each = toset([var.firestore_database_id])

  project = var.project_id
  name    = each.key
  type    = "FIRESTORE_NATIVE"
  # Applied when Terraform creates the database; an adopted one keeps its own (ignore_changes).
  location_id                       = var.firestore_location
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.adopt_existing_firestore_database || var.deletion_protection ? "ABANDON" : "DELETE"

  lifecycle {
    # A location, type, edition or CMEK key cannot change (a difference would plan a
    # replacement), and an adopted database's protection and recovery settings are its owners'
    # to choose: never plan a change (or a replacement) of them.
    ignore_changes = [location_id, type, point_in_time_recovery_enablement, delete_protection_state, cmek_config, database_edition]

    # The service needs Firestore in Native mode; a Datastore-mode database is refused here
    # rather than replaced.
    postcondition {
      condition     = self.type == "FIRESTORE_NATIVE"
      error_message = "Firestore database ${each.key} is in ${self.type} mode; the service needs FIRESTORE_NATIVE (choose another firestore_database_id)."
    }
  }

  depends_on = [google_project_service.apis["firestore.googleapis.com"]]
}

# The API keys live in a database of their own, created here, so the catalog editors' grant
# (conditioned on the catalog database's name) cannot reach them: Firestore IAM conditions tell
# databases apart, not collections (README, Least privilege).
resource "google_firestore_database" "api_keys" {
  project                           = var.project_id
  name                              = var.api_keys_database_id
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"

  lifecycle {
    ignore_changes = [location_id]
  }

  depends_on = [google_project_service.apis["firestore.googleapis.com"]]
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
        google_project_iam_member.runtime_reads_api_keys.id,
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
    environment_variables            = merge(local.environment, local.pepper_environment)

    # The current pepper and, during a rotation, the previous one (pepper.tf), each pinned.
    dynamic "secret_environment_variables" {
      for_each = local.pepper_secret_environment

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.pepper.secret_id
        version    = secret_environment_variables.value
      }
    }
  }

  depends_on = [
    google_project_service.apis["cloudfunctions.googleapis.com"],
    google_project_service.apis["cloudbuild.googleapis.com"],
    google_project_service.apis["run.googleapis.com"],
    google_project_service.apis["artifactregistry.googleapis.com"],
    google_firestore_database.main,
    google_firestore_database.api_keys,
    time_sleep.iam_propagation,
    terraform_data.pepper_live_key_check, # pepper.tf: before a version stops verifying
  ]
}
