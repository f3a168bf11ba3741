# Firestore security rules releases.
#
# The catalog database (often the project's (default) database, which the web app also uses):
# left alone unless manage_firestore_rules is true, and then released with the project's own
# rules file with the service's denials merged in (firestore_rules.tf), never swapped for ours.
# The API keys database is the service's alone: it always gets firestore.rules (deny all).
#
# An existing release is never taken over: in provider 6.50.0 a changed ruleset_name replaces
# the release (delete, then create), so importing the live "cloud.firestore" release would leave
# the web app's database with no rules until the new one exists. With manage_firestore_rules and
# an existing release (adopt_existing_firestore_rules_release, default: same as
# adopt_existing_firestore_database) the plan is refused and says what to do instead.
#
# Destroy: a release cannot be abandoned by the provider. infra/README.md ("Tearing down") has
# the `terraform state rm` that keeps the releases, the databases and the pepper before a destroy.

locals {
  # The (default) database's release is "cloud.firestore"; a named one's "cloud.firestore/<id>".
  catalog_release_name  = var.firestore_database_id == "(default)" ? "cloud.firestore" : "cloud.firestore/${var.firestore_database_id}"
  api_keys_release_name = "cloud.firestore/${var.api_keys_database_id}"
  adopt_rules_release   = var.adopt_existing_firestore_rules_release == null ? var.adopt_existing_firestore_database : var.adopt_existing_firestore_rules_release

  rules_releases = merge(
    var.manage_firestore_rules ? { (local.catalog_release_name) = local.catalog_rules } : {},
    { (local.api_keys_release_name) = local.standalone_rules },
  )
}

resource "google_firebaserules_ruleset" "firestore" {
  for_each = local.rules_releases

  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = each.value
    }
  }

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = !(var.manage_firestore_rules && local.adopt_rules_release)
      error_message = "manage_firestore_rules with an existing rules release: the first apply would delete the live release before creating the new one. Release the merged rules yourself (`python3 infra/gcloud/merge_firestore_rules.py BASE infra/firestore_rules/service_collections.rules > merged.rules`, then `firebase deploy --only firestore:rules`, which updates the release in place) and keep manage_firestore_rules = false."
    }

    precondition {
      condition     = length(local.rules_merge_problems) == 0
      error_message = "firestore_rules_base_file ${var.firestore_rules_base_file}: ${join("; ", local.rules_merge_problems)}."
    }
  }

  depends_on = [
    google_project_service.apis["firebaserules.googleapis.com"],
    google_firestore_database.main,
    google_firestore_database.api_keys,
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
