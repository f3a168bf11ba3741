# The daily drift check (docs/catalog.md, infra/README.md "Daily drift check"). A second function built
# from the SAME source upload as the service (entry point drift_check in main.py), run once a
# day by Cloud Scheduler. It downloads OpenRouter's models API (and the endpoints of each routed
# model) and LiteLLM's price JSON, audits what Firestore serves, and logs one JSON line per
# finding. Chosen over a Cloud Run job: a job needs a container image built and pushed by a
# separate pipeline, while a function reuses the upload, build account, image repository and
# IAM propagation wait the service already has.
#
# It never writes the catalog: its account holds only roles/datastore.viewer on the catalog's
# database; only the scheduler's account may invoke it, and only from inside Google
# (ALLOW_INTERNAL_ONLY: Cloud Scheduler's calls count as internal).

resource "google_service_account" "drift_check" {
  count = var.enable_drift_check ? 1 : 0

  project      = var.project_id
  account_id   = local.drift_names.runtime_account_id
  display_name = "Runs the daily drift check of the ${var.function_name} catalog (read-only)"

  depends_on = [google_project_service.apis["iam.googleapis.com"]]
}

resource "google_service_account" "drift_scheduler" {
  count = var.enable_drift_check ? 1 : 0

  project      = var.project_id
  account_id   = local.drift_names.scheduler_account_id
  display_name = "Invokes the daily drift check of ${var.function_name} (Cloud Scheduler)"

  depends_on = [google_project_service.apis["iam.googleapis.com"]]
}

# Read-only, this database only: the same grant the service's runtime has
# (https://cloud.google.com/firestore/docs/security/iam#roles).
resource "google_project_iam_member" "drift_check_reads_firestore" {
  count = var.enable_drift_check ? 1 : 0

  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = "serviceAccount:${google_service_account.drift_check[0].email}"

  condition {
    title       = "only-the-catalog-database"
    description = "Read access to the service's Firestore database only (the drift check never writes)."
    expression  = local.database_condition
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

# Deploying a function that runs as the drift account, and a job that signs as the scheduler
# account, needs actAs on both (as deployer_acts_as does for the service's accounts).
resource "google_service_account_iam_member" "deployer_acts_as_drift" {
  for_each = var.enable_drift_check ? {
    for pair in setproduct(["runtime", "scheduler"], var.deployer_members) : "${pair[0]} ${pair[1]}" => {
      account = pair[0] == "runtime" ? google_service_account.drift_check[0].name : google_service_account.drift_scheduler[0].name
      member  = pair[1]
    }
  } : {}

  service_account_id = each.value.account
  role               = "roles/iam.serviceAccountUser"
  member             = each.value.member
}

resource "google_cloudfunctions2_function" "drift_check" {
  count = var.enable_drift_check ? 1 : 0

  project     = var.project_id
  name        = local.drift_names.function_name
  location    = var.region
  description = "Daily drift check of the ${var.function_name} catalog against public price data"
  labels      = var.labels

  build_config {
    runtime           = local.service_settings.runtime
    entry_point       = local.drift_settings.entry_point
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
    service_account_email            = google_service_account.drift_check[0].email
    min_instance_count               = tonumber(local.drift_settings.min_instances)
    max_instance_count               = tonumber(local.drift_settings.max_instances)
    max_instance_request_concurrency = tonumber(local.drift_settings.concurrency)
    available_cpu                    = local.drift_settings.cpu
    available_memory                 = local.drift_settings.memory
    timeout_seconds                  = tonumber(local.drift_settings.timeout_seconds)
    ingress_settings                 = local.drift_settings.ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = local.drift_environment
  }

  depends_on = [
    google_project_service.apis["cloudfunctions.googleapis.com"],
    google_project_service.apis["cloudbuild.googleapis.com"],
    google_project_service.apis["run.googleapis.com"],
    google_project_service.apis["artifactregistry.googleapis.com"],
    google_firestore_database.main,
    time_sleep.iam_propagation, # the build account's grants (shared with the service)
    google_project_iam_member.drift_check_reads_firestore,
  ]
}

# An OIDC-authenticated Scheduler job needs run.invoker for its account on the target
# (https://cloud.google.com/run/docs/triggering/using-scheduler#command-line).
resource "google_cloud_run_v2_service_iam_member" "scheduler_invokes_drift_check" {
  count = var.enable_drift_check ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.drift_check[0].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.drift_scheduler[0].email}"
}

resource "google_cloud_scheduler_job" "drift_check" {
  count = var.enable_drift_check ? 1 : 0

  project          = var.project_id
  region           = var.region
  name             = local.drift_names.scheduler_job
  description      = "Runs the drift check of the ${var.function_name} catalog once a day"
  schedule         = local.drift_settings.schedule
  time_zone        = local.drift_settings.time_zone
  attempt_deadline = "${var.drift_check_timeout_seconds + 30}s"

  retry_config {
    retry_count          = 2
    min_backoff_duration = "600s"
    max_backoff_duration = "1800s"
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.drift_check[0].service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.drift_scheduler[0].email
      audience              = google_cloudfunctions2_function.drift_check[0].service_config[0].uri
    }
  }

  depends_on = [
    google_project_service.apis["cloudscheduler.googleapis.com"],
    google_cloud_run_v2_service_iam_member.scheduler_invokes_drift_check,
  ]
}

# --- alerts: log-based metrics on the drift check's JSON lines (drift_check/job.py) -----------

locals {
  drift_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.drift_names.function_name}\" AND logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Fstdout\""

  drift_metrics = {
    drift_below_cost = {
      description = "Served prices below the upstream price x margin, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"below_cost\" AND jsonPayload.alert=true"
      alert       = "a served price is below upstream cost x margin"
      runbook     = "A served model is sold below what its upstream now charges times the margin (or below the dearest endpoint its OpenRouter routing allows): every request loses money. The log line (jsonPayload.model, field, ours, theirs, detail) names the model, the billed field and the dataset. Check the provider's price page; update the model's [models.price] (and, for a routed model, [models.routing]) in catalog_seed/models/, run `python -m catalog_seed --dry-run`, then seed (--confirm if the price moves more than 3x). If the upstream price is wrong, note it in the model's source and leave the price. To stop the loss at once: set the model's status to \"disabled\" and seed."
    }
    drift_past_shutdown = {
      description = "Served models whose upstream shutdown date has passed, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"past_shutdown\" AND jsonPayload.alert=true"
      alert       = "a served model is past its upstream shutdown date"
      runbook     = "A dataset says the provider shut the model down (jsonPayload.theirs) but the catalog still serves it: customers' requests for it fail upstream. Confirm on the provider's deprecations page, then set retirement_date (today or the real date) and replacement (the provider's named successor, which must be served) in catalog_seed/models/ and seed: the model leaves the list and GET /models/{id} answers 410 naming the successor."
    }
    drift_price_expiring = {
      description = "Served prices whose valid_until (a temporary upstream price) is at most 14 days away, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"price_expiring\" AND jsonPayload.alert=true"
      alert       = "a served price ends within 14 days"
      runbook     = "A served model's price is a temporary upstream price (an introductory offer) that ends on jsonPayload.ours (pricing.valid_until); from the day after, the upstream may charge more and every request could lose money. Read the provider's pricing page: if the next price is announced, set it in the model's [models.price] (new source and checked date; drop valid_until, or set the next end date) and seed before that day (--confirm if it moves more than 3x); if the offer is extended, move valid_until with the page that says so. If nothing is announced yet, decide before the day whether to price at the expected price (e.g. OpenRouter's listing) or to disable the model (status = \"disabled\"), which takes it off the list for every customer."
    }
    drift_price_expired = {
      description = "Served models still sold at a price past its valid_until, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"price_expired\" AND jsonPayload.alert=true"
      alert       = "a served price is past its valid_until"
      runbook     = "A served model is still sold at a temporary upstream price that ended on jsonPayload.ours (pricing.valid_until): the upstream may now charge more than the price covers. The service keeps serving it (customers' requests keep working). Read the provider's current price and seed it (the seed refuses data whose price has ended, so the data must change); the drift_below_cost alert confirms the loss once LiteLLM or OpenRouter list the new price. To stop a loss at once: set the model's status to \"disabled\" and seed."
    }
    drift_price_change_not_seeded = {
      description = "Dated upstream prices the catalog would sell below cost from their start, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"price_change_not_seeded\" AND jsonPayload.alert=true"
      alert       = "a dated upstream price is not seeded"
      runbook     = "A dataset dates a new upstream price (jsonPayload.detail: from when) that the catalog would sell below cost. Add the [[models.price.changes]] that jsonPayload.fix names to catalog_seed/models/ and seed before that day; the service switches by itself at its effective time."
    }
    drift_endpoint_unrecorded = {
      description = "OpenRouter endpoints (or variants) the routing allows with no recorded price, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"endpoint_unrecorded\" AND jsonPayload.alert=true"
      alert       = "an allowed OpenRouter endpoint has no recorded price"
      runbook     = "OpenRouter lists an endpoint the model's routing allows (jsonPayload.theirs) that the data does not price. Record it in [[models.routing.endpoints]] or add it to routing.ignore, as jsonPayload.fix says, and seed."
    }
    drift_max_price_refuses = {
      description = "OpenRouter caps below an allowed endpoint's price, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"max_price_refuses\" AND jsonPayload.alert=true"
      alert       = "an OpenRouter cap refuses an allowed endpoint"
      runbook     = "An allowed endpoint now charges more than routing.max_price, so OpenRouter refuses requests it would serve. Update the endpoint's price, the model's price and the cap as jsonPayload.fix says, and seed."
    }
    drift_max_price_above_charge = {
      description = "OpenRouter caps above our price / margin, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"max_price_above_charge\" AND jsonPayload.alert=true"
      alert       = "an OpenRouter cap lets a request cost more than we charge"
      runbook     = "routing.max_price is above our price / 1.4: an accepted request could cost more than we charge. Lower the cap or raise the price as jsonPayload.fix says, and seed."
    }
    drift_upstream_renamed = {
      description = "Upstream ids that now name another model, per model, found by the daily drift check."
      filter      = "${local.drift_logs} AND jsonPayload.drift_finding=\"upstream_renamed\" AND jsonPayload.alert=true"
      alert       = "an upstream id now serves another model"
      runbook     = "A dataset names the model's upstream id differently (jsonPayload.theirs). Read the provider's page; update name, limits, capabilities and price, or move the id, and seed."
    }
    drift_check_incomplete = {
      description = "Drift check runs that did not complete (a dataset download, Firestore or an empty catalog failed)."
      filter      = "${local.drift_logs} AND jsonPayload.drift_check=\"incomplete\""
      alert       = "the daily drift check did not complete"
      runbook     = "The drift check could not download a dataset (jsonPayload.errors: the URL and HTTP status), read Firestore, or found no served model; prices were not (fully) checked today. A passing outage of OpenRouter or GitHub clears on the next run (Cloud Scheduler retries twice); a moved URL needs the drift_check_*_url variable; a Firestore error is also on the service's own alerts."
    }
  }
}

resource "google_logging_metric" "drift" {
  for_each = var.enable_log_metrics && var.enable_drift_check ? local.drift_metrics : {}

  project     = var.project_id
  name        = "${var.function_name}/${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "${var.function_name} ${replace(each.key, "_", " ")}"
  }

  depends_on = [google_project_service.apis["logging.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "drift" {
  for_each = local.alerts_on_logs && var.enable_drift_check ? local.drift_metrics : {}

  project               = var.project_id
  display_name          = "${var.function_name}: ${each.value.alert}"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "any ${replace(each.key, "_", " ")} line in the drift check's logs"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.drift[each.key].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s" # the check runs daily: an incident stays open until the next clean run
  }

  documentation {
    mime_type = "text/markdown"
    content   = each.value.runbook
  }

  # A new log-based metric is not usable by an alert policy at once (monitoring.tf): wait.
  depends_on = [
    google_project_service.apis["monitoring.googleapis.com"],
    time_sleep.log_metrics_usable,
  ]
}
