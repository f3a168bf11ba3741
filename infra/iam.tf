# Every grant the service needs, each on the narrowest resource Google offers for it.
# tests/infra check: no primitive role, no project-wide grant of a role that this module grants
# on a resource elsewhere, conditions where a project-level grant is the only way.

locals {
  # Firestore IAM conditions can name a database (resource.name), not a collection or document:
  # the catalog and the API keys are in two databases so editors of one cannot write the other.
  database_condition          = "resource.name == \"projects/${var.project_id}/databases/${var.firestore_database_id}\""
  api_keys_database_condition = "resource.name == \"projects/${var.project_id}/databases/${var.api_keys_database_id}\""
  # gen2 builds fetch the source from gcf-v2-sources-<project number>-<region> (the function
  # service copies our upload there). That bucket is created by the service on the first deploy,
  # so a bucket-level grant cannot exist before it: the grant is project-level, conditioned on
  # that bucket's resource name (the bucket itself and its objects).
  sources_bucket_resource = "projects/_/buckets/${local.names.gcf_sources_bucket_prefix}${data.google_project.this.number}-${var.region}"
}

# --- runtime: read Firestore (the two databases only) and the one pepper secret. No write anywhere.
# roles/datastore.viewer reads documents (https://cloud.google.com/firestore/docs/security/iam#roles);
# roles/secretmanager.secretAccessor reads a secret version, which a secret environment
# variable needs (https://cloud.google.com/run/docs/configuring/services/secrets#access-secret).

resource "google_project_iam_member" "runtime_reads_firestore" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = "serviceAccount:${google_service_account.runtime.email}"

  condition {
    title       = "only-the-catalog-database"
    description = "Read access to the service's Firestore database only."
    expression  = local.database_condition
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

resource "google_project_iam_member" "runtime_reads_api_keys" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = "serviceAccount:${google_service_account.runtime.email}"

  condition {
    title       = "only-the-api-keys-database"
    description = "Read access to the service's API keys database only."
    expression  = local.api_keys_database_condition
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

resource "google_secret_manager_secret_iam_member" "runtime_reads_pepper" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.pepper.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

# --- build: the three roles Google documents for a function's build service account
# (https://cloud.google.com/run/docs/configuring/services/build-service-account, "Required
# roles"): roles/logging.logWriter (build logs; project-level only), roles/artifactregistry.writer
# (images; granted on our repository) and roles/storage.objectAdmin (reading the source; granted
# on the gcf-v2-sources bucket only, by an IAM condition).

resource "google_project_iam_member" "build" {
  for_each = toset(local.build_project_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

resource "google_project_iam_member" "build_reads_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title       = "only-the-gcf-v2-sources-bucket"
    description = "The bucket gen2 builds read function sources from, created by Cloud Functions."
    expression  = "resource.name == \"${local.sources_bucket_resource}\" || resource.name.startsWith(\"${local.sources_bucket_resource}/objects/\")"
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  project    = var.project_id
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

# --- invocation. Public on purpose: the handler authenticates every request itself (API key,
# or Firebase ID token + App Check), and browsers cannot send Google IAM credentials. Two ways,
# chosen by public_access: an allUsers invoker binding, refused under domain-restricted sharing
# (organisation policy iam.allowedPolicyMemberDomains), or Cloud Run's invoker IAM check turned
# off, which that policy does not govern.

resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  count = var.public_access == "all_users" ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.main.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# google_cloudfunctions2_function has no invoker_iam_disabled (provider 6.50.0: only
# google_cloud_run_v2_service has it, and the function's service belongs to Cloud Functions, so
# a second resource for it would fight the function). The supported way is Cloud Run's own
# `gcloud run services update SERVICE --no-invoker-iam-check`
# (https://cloud.google.com/run/docs/securing/managing-access#invoker_check), run by
# gcloud/invoker_check.sh: the short service name (gcloud refuses the provider's full name),
# --region, the credentials Terraform uses (ADC, never gcloud's login), and a read-back that
# fails the apply unless the check is off. It re-runs after every update of the function
# (update_time, build and service config): a redeploy must not bring the check back. No
# destroy-time undo: a replacement would run it too and close the service for a moment;
# switching back to another public_access is one documented command (README, Public access).
resource "terraform_data" "invoker_check_disabled" {
  count = var.public_access == "invoker_check_disabled" ? 1 : 0

  input = {
    project = var.project_id
    region  = var.region
    service = google_cloudfunctions2_function.main.service_config[0].service
  }
  triggers_replace = [
    google_cloudfunctions2_function.main.id,
    google_cloudfunctions2_function.main.update_time,
    google_storage_bucket_object.source.name,
    sha256(jsonencode(google_cloudfunctions2_function.main.build_config)),
    sha256(jsonencode(google_cloudfunctions2_function.main.service_config)),
  ]

  provisioner "local-exec" {
    command = "${path.module}/gcloud/invoker_check.sh"
    environment = {
      PROJECT = self.input.project
      REGION  = self.input.region
      SERVICE = self.input.service
      CHECK   = "off"
    }
  }
}

# --- people and CI (optional, named principals).

# Deploying a function that runs as / builds as these accounts needs iam.serviceAccounts.actAs
# on both. The principal running the first apply must hold it already (README, Prerequisites);
# this provisions it for the others (e.g. the CI account that deploys later).
# (https://cloud.google.com/functions/docs/reference/iam/roles#additional-configuration).
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    for pair in setproduct(["runtime", "build"], var.deployer_members) : "${pair[0]} ${pair[1]}" => {
      account = pair[0] == "runtime" ? google_service_account.runtime.name : google_service_account.build.name
      member  = pair[1]
    }
  }

  service_account_id = each.value.account
  role               = "roles/iam.serviceAccountUser"
  member             = each.value.member
}

# Seeding the catalog writes the catalog database only; administering keys writes the API keys
# database only: roles/datastore.user is Firestore's read/write role for documents
# (https://cloud.google.com/firestore/docs/security/iam#roles). Neither grant reaches the other database (IAM condition on its name).
resource "google_project_iam_member" "catalog_editors_write_catalog" {
  for_each = toset(var.catalog_editors)

  project = var.project_id
  role    = "roles/datastore.user"
  member  = each.value

  condition {
    title       = "only-the-catalog-database"
    description = "Catalog seeding on the service's catalog database only."
    expression  = local.database_condition
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

resource "google_project_iam_member" "key_admins_write_api_keys" {
  for_each = toset(var.key_admins)

  project = var.project_id
  role    = "roles/datastore.user"
  member  = each.value

  condition {
    title       = "only-the-api-keys-database"
    description = "API key administration on the service's API keys database only."
    expression  = local.api_keys_database_condition
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

# Minting keys needs the pepper: the same pinned current version the function reads.
resource "google_secret_manager_secret_iam_member" "key_admins_read_pepper" {
  for_each = toset(var.key_admins)

  project   = var.project_id
  secret_id = google_secret_manager_secret.pepper.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}
