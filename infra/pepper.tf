# The API-key pepper: one Secret Manager version per generation, 1..pepper_version, each written
# once and never destroyed by an apply. Terraform generates each as an ephemeral value and writes
# it through the write-only argument, so no pepper appears in a plan or the state.
#
# Rotation (README, Pepper rotation): raise pepper_version by one and set previous_pepper_version
# to the old generation in the same apply. The new version is added (the old one is untouched),
# the function verifies keys against both (API_KEY_PEPPER + API_KEY_PREVIOUS_PEPPER, each pinned
# to its version number) and new keys are minted under the new one: no key is invalidated.
# Retirement is a later, separate step: previous_pepper_version = 0 once
# `python -m key_admin pepper-usage` shows no live key on it, then retired_pepper_versions
# disables its version (destroying it is a manual `gcloud secrets versions destroy`).

locals {
  pepper_generations = toset([for g in range(1, var.pepper_version + 1) : tostring(g)])
  current_pepper     = google_secret_manager_secret_version.pepper[tostring(var.pepper_version)]
  previous_pepper    = var.previous_pepper_version == 0 ? null : google_secret_manager_secret_version.pepper[tostring(var.previous_pepper_version)]

  # Secret environment variables of the function (name => pinned Secret Manager version number)
  # and the plain variables that tell the service which version each one is (docs/api-keys.md).
  pepper_secret_environment = merge(
    { API_KEY_PEPPER = local.current_pepper.version },
    local.previous_pepper == null ? {} : { API_KEY_PREVIOUS_PEPPER = local.previous_pepper.version },
  )
  pepper_environment = merge(
    { API_KEY_PEPPER_VERSION = local.current_pepper.version },
    local.previous_pepper == null ? {} : { API_KEY_PREVIOUS_PEPPER_VERSION = local.previous_pepper.version },
  )
}

resource "google_secret_manager_secret" "pepper" {
  project   = var.project_id
  secret_id = local.names.pepper_secret_id
  labels    = var.labels
  # Deleting the secret deletes every version: every API key would become invalid.
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis["secretmanager.googleapis.com"]]
}

ephemeral "random_password" "pepper" {
  for_each = local.pepper_generations

  length  = 48
  special = false
}

resource "google_secret_manager_secret_version" "pepper" {
  for_each = local.pepper_generations

  secret         = google_secret_manager_secret.pepper.id
  secret_data_wo = ephemeral.random_password.pepper[each.key].result
  # Constant per generation: the write-only value is sent once, at creation, and never forces a
  # replacement (a changed secret_data_wo_version would destroy the live version first).
  secret_data_wo_version = tonumber(each.key)
  # Retirement disables a version in place; it can be re-enabled if a key was missed.
  enabled = !contains(var.retired_pepper_versions, tonumber(each.key))
  # Removed from the configuration or destroyed: the version stays in Secret Manager.
  deletion_policy = "ABANDON"
}

# The module once had a single version resource (generation 1).
moved {
  from = google_secret_manager_secret_version.pepper
  to   = google_secret_manager_secret_version.pepper["1"]
}
