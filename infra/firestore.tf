# Firestore security rules: deny every client SDK request (see firestore.rules). The service and
# the operator tools use server credentials, which rules do not apply to. Without this, a web
# app on the same project could read api_keys under the default or test-mode rules.
#
# A database created in the Firebase console comes with a "cloud.firestore" release (its
# default or test-mode rules); creating it again fails with "Resource already exists"
# (hashicorp/terraform-provider-google#20917), so an existing release is imported
# (adopt_existing_firestore_rules_release, default: same as adopt_existing_firestore_database).

locals {
  # The (default) database's release is "cloud.firestore"; a named one's "cloud.firestore/<id>".
  rules_release_name   = var.firestore_database_id == "(default)" ? "cloud.firestore" : "cloud.firestore/${var.firestore_database_id}"
  rules_releases       = var.manage_firestore_rules ? toset([local.rules_release_name]) : toset([])
  adopt_rules_release  = var.adopt_existing_firestore_rules_release == null ? var.adopt_existing_firestore_database : var.adopt_existing_firestore_rules_release
  rules_file_in_module = "${path.module}/firestore.rules"
}

import {
  for_each = local.adopt_rules_release ? local.rules_releases : toset([])

  to = google_firebaserules_release.firestore[each.key]
  id = "projects/${var.project_id}/releases/${each.key}"
}

resource "google_firebaserules_ruleset" "firestore" {
  for_each = local.rules_releases

  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file(local.rules_file_in_module)
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    google_project_service.apis["firebaserules.googleapis.com"],
    google_firestore_database.main,
  ]
}

resource "google_firebaserules_release" "firestore" {
  for_each = local.rules_releases

  project      = var.project_id
  name         = each.key
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore[each.key].name}"

  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore[each.key]]
  }
}
