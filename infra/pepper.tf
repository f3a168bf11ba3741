# The API-key pepper: one Secret Manager version for each of 1..pepper_version, each written
# once and never destroyed by an apply. Terraform generates each as an ephemeral value and writes
# it through the write-only argument, so no pepper appears in a plan or the state.
#
# Rotation (README, Pepper rotation): raise pepper_version by one and set previous_pepper_version
# to the old version in the same apply (a variable validation refuses anything else). The new
# version is added, the function verifies keys against both (API_KEY_PEPPER +
# API_KEY_PREVIOUS_PEPPER, each pinned) and new keys are minted under the new one.
# Retirement, one apply: previous_pepper_version = 0 and the version listed in
# retired_pepper_versions. In that apply the live-key check runs first (any failure stops it),
# then the function stops reading the version, then the version is disabled. `enabled` is
# ignored after creation, so no later apply re-enables a disabled version (re-enabling is a
# manual `gcloud secrets versions enable`; destroying one a manual `... destroy`).

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
  # Constant per version: the write-only value is sent once, at creation, and never forces a
  # replacement (a changed secret_data_wo_version would destroy the live version first).
  secret_data_wo_version = tonumber(each.key)
  # Set at creation only: retirement disables a version through retire_pepper.sh (below), so
  # an apply never re-enables one that was disabled, by either path.
  enabled = !contains(var.retired_pepper_versions, tonumber(each.key))
  # Removed from the configuration or destroyed: the version stays in Secret Manager.
  deletion_policy = "ABANDON"

  lifecycle {
    ignore_changes = [enabled]
  }

  depends_on = [terraform_data.pepper_live_key_check]
}

# --- retirement, in the order that keeps every live key working -----------------------------
# The scripts run with the credentials Terraform uses (ADC, or GOOGLE_OAUTH_ACCESS_TOKEN) and
# key_admin from the repository's .venv; each runs once per retired version (triggers).

locals {
  retired_pepper = { for v in var.retired_pepper_versions : tostring(v) => {
    version     = v
    accept_live = contains(var.pepper_retirement_accepts_live_keys, v) ? "--accept-live-keys" : ""
  } }
  retire_pepper_environment = {
    PROJECT            = var.project_id
    REGION             = var.region
    FUNCTION_NAME      = var.function_name
    NAME_PREFIX        = local.name_prefix
    API_KEYS_DATABASE  = var.api_keys_database_id
    GCLOUD_CREDENTIALS = "adc"
  }
}

# 1. Before the function changes (it depends on this): no live key depends on the version.
resource "terraform_data" "pepper_live_key_check" {
  for_each = local.retired_pepper

  triggers_replace = [each.key]

  provisioner "local-exec" {
    command     = "${path.module}/retire_pepper.sh ${each.value.version} --check-only ${each.value.accept_live}"
    environment = local.retire_pepper_environment
  }
}

# 2. After the function stopped reading it: check again, then disable the version.
resource "terraform_data" "pepper_disabled" {
  for_each = local.retired_pepper

  triggers_replace = [each.key]

  provisioner "local-exec" {
    command     = "${path.module}/retire_pepper.sh ${each.value.version} ${each.value.accept_live}"
    environment = local.retire_pepper_environment
  }

  depends_on = [google_cloudfunctions2_function.main, google_secret_manager_secret_version.pepper]
}

# The module once had a single version resource (version 1).
moved {
  from = google_secret_manager_secret_version.pepper
  to   = google_secret_manager_secret_version.pepper["1"]
}
