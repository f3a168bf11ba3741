locals {
  # What Cloud Build needs to turn the zipped source into the function's image; nothing more.
  build_roles = [
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
  ]
}

# Runtime: read Firestore (this database only), read the one pepper secret. No write anywhere.
resource "google_project_iam_member" "runtime_reads_firestore" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = "serviceAccount:${google_service_account.runtime.email}"

  condition {
    title       = "only-the-catalog-database"
    description = "Read access to the service's Firestore database only."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${var.firestore_database_id}\""
  }
}

resource "google_secret_manager_secret_iam_member" "runtime_reads_pepper" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.pepper.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "build" {
  for_each = toset(local.build_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

# Deliberately public: the handler authenticates every request itself (API key, or Firebase
# ID token + App Check), and browsers cannot send Google IAM credentials.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  count = var.public_invocation ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.main.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
