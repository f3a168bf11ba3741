output "url" {
  description = "HTTPS URL of the function; the catalog is at this URL and at <url>/models."
  value       = google_cloudfunctions2_function.main.url
}

output "service_uri" {
  description = "The Cloud Run URL of the function's service (https://<name>-<hash>-<region>.a.run.app), which the uptime check probes."
  value       = google_cloudfunctions2_function.main.service_config[0].uri
}

output "function_name" {
  description = "Name of the Cloud Functions (gen2) function and of its Cloud Run service."
  value       = google_cloudfunctions2_function.main.name
}

output "runtime_service_account" {
  description = "Email of the service account the function runs as (Firestore read, pepper read)."
  value       = google_service_account.runtime.email
}

output "build_service_account" {
  description = "Email of the service account Cloud Build uses to build the function."
  value       = google_service_account.build.email
}

output "pepper_secret" {
  description = "Secret Manager secret holding the API-key pepper."
  value       = google_secret_manager_secret.pepper.id
}

output "pepper_secret_version" {
  description = "The current pepper version the function is pinned to (projects/N/secrets/S/versions/V): set API_KEY_PEPPER_SECRET to it when minting keys."
  value       = local.current_pepper.name
}

output "previous_pepper_secret_version" {
  description = "The previous pepper version still accepted during a rotation (null when previous_pepper_version is 0)."
  value       = local.previous_pepper == null ? null : local.previous_pepper.name
}

output "firestore_database" {
  description = "Firestore database that holds the catalog."
  value       = google_firestore_database.main[var.firestore_database_id].name
}

output "api_keys_database" {
  description = "Firestore database that holds the API keys and their index (API_KEYS_DATABASE for key_admin)."
  value       = google_firestore_database.api_keys.name
}

output "firestore_rules_releases" {
  description = "Firebase Rules releases this module manages: the API keys database's always, the catalog database's only with manage_firestore_rules."
  value       = sort([for r in google_firebaserules_release.firestore : r.name])
}

output "source_bucket" {
  description = "Bucket holding the zipped source (one object per source content hash)."
  value       = google_storage_bucket.source.name
}

output "image_repository" {
  description = "Artifact Registry repository holding the function's images (with cleanup policies)."
  value       = google_artifact_registry_repository.images.id
}

output "uploaded_files" {
  description = "The files uploaded as the function's source (from .gcloudignore)."
  value       = local.source_files
}

output "uptime_check_id" {
  description = "Id of the uptime check of /models (null when off)."
  value       = local.uptime_check ? google_monitoring_uptime_check_config.models[0].uptime_check_id : null
}

output "app_check_site_key" {
  description = "reCAPTCHA Enterprise site key for the web app's initializeAppCheck (null when App Check is off)."
  value       = local.app_check ? google_recaptcha_enterprise_key.web[0].name : null
}

output "drift_check_function" {
  description = "Name of the daily drift check function (null when enable_drift_check is false); its logs hold one JSON line per finding."
  value       = var.enable_drift_check ? google_cloudfunctions2_function.drift_check[0].name : null
}

output "drift_check_service_account" {
  description = "Email of the account the drift check runs as (Firestore read only; null when off)."
  value       = var.enable_drift_check ? google_service_account.drift_check[0].email : null
}

output "drift_check_scheduler_job" {
  description = "Cloud Scheduler job that runs the drift check daily (null when off): `gcloud scheduler jobs run` it to check now."
  value       = var.enable_drift_check ? google_cloud_scheduler_job.drift_check[0].id : null
}
