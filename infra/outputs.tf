output "url" {
  description = "HTTPS URL of the function; the catalog is at this URL and at <url>/models."
  value       = google_cloudfunctions2_function.main.url
}

output "function_name" {
  description = "Name of the Cloud Functions (gen2) function."
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
  description = "Secret Manager secret holding the API-key pepper (operators need access to mint keys)."
  value       = google_secret_manager_secret.pepper.id
}

output "firestore_database" {
  description = "Firestore database that holds the catalog and the API keys."
  value       = google_firestore_database.main.name
}

output "source_bucket" {
  description = "Bucket holding the zipped source of each deployed version."
  value       = google_storage_bucket.source.name
}
