# The Firestore rules text each release gets, from variables and files only (no resources), so
# tests/infra evaluate it with real Terraform offline. Rules are OR-ed across matching
# statements, so the service's denials protect its collections only if nothing else in the same
# file allows them: the merge therefore refuses a base file with a wildcard first segment
# (`match /{x}` or `match /{x=**}`) or its own rules for the service's collections.
#
# Merge: the block in firestore_rules/service_collections.rules is inserted right after the base
# file's `match /databases/{database}/documents {` line; everything else in the base file is kept
# byte for byte. infra/gcloud/merge_firestore_rules.py does the same for deploy.sh (tests compare).

locals {
  service_rules    = file("${path.module}/firestore_rules/service_collections.rules")
  standalone_rules = file("${path.module}/firestore.rules")

  rules_base_path = (
    var.firestore_rules_base_file == "" ? "" :
    startswith(var.firestore_rules_base_file, "/") ? var.firestore_rules_base_file :
    "${path.module}/${var.firestore_rules_base_file}"
  )
  rules_base = local.rules_base_path == "" ? "" : file(local.rules_base_path)

  # RE2 through regexall/replace; (?m) so ^ and $ work per line.
  rules_documents_opener = "(?m)^([ \\t]*match\\s+/databases/\\{\\w+\\}/documents\\s*\\{[ \\t]*)$"

  rules_merge_problems = local.rules_base == "" ? [] : concat(
    length(regexall(local.rules_documents_opener, local.rules_base)) == 1 ? [] : [
      "the base rules must have exactly one line `match /databases/{database}/documents {`",
    ],
    length(regexall("match\\s+/\\{", local.rules_base)) == 0 ? [] : [
      "the base rules match a wildcard first segment (match /{...}); rules are OR-ed, so it could open the service's collections: name the collections it is meant for",
    ],
    length(regexall("match\\s+/(models|api_keys|api_keys_index|api_keys_changes)\\b", local.rules_base)) == 0 ? [] : [
      "the base rules already have rules for the service's collections (models, api_keys, api_keys_index, api_keys_changes): remove them (the merge adds the service's own)",
    ],
  )

  # The catalog database's rules: the project's file with the service's block merged in, or the
  # standalone deny-all file for a database only this service uses.
  catalog_rules = local.rules_base == "" ? local.standalone_rules : replace(
    local.rules_base, "/${local.rules_documents_opener}/", "$1\n${trimsuffix(local.service_rules, "\n")}"
  )
}
