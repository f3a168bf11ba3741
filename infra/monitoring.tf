# Operating the service: an uptime check, alert policies, log-based metrics from the service's
# JSON logs (README, Logs), a dashboard and Data Access audit logs for the pepper. Each part is
# switched by one variable (enable_*); all but the audit logs are on by default. Where alerts go is asked for
# (notification_channels, alert_email: no defaults).
#
# Cloud Run (and so gen2 functions) turns each JSON line on stdout into a log entry: `severity`,
# `httpRequest` and `logging.googleapis.com/trace` become the entry's own fields, the rest is
# jsonPayload (https://cloud.google.com/run/docs/logging#special-fields).

locals {
  function_host = trimprefix(google_cloudfunctions2_function.main.service_config[0].uri, "https://")

  run_resource = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.function_name}\""
  # The service's own lines (not Cloud Run's request log, which also carries httpRequest).
  service_logs = "${local.run_resource} AND logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Fstdout\""
  uptime_agent = "GoogleStackdriverMonitoring-UptimeChecks"

  log_metrics = {
    auth_failures = {
      description = "Failed authentications (401) by reason, uptime checks excluded."
      filter      = "${local.service_logs} AND jsonPayload.auth_failure:* AND NOT httpRequest.userAgent:\"${local.uptime_agent}\""
      label       = "reason"
      extractor   = "EXTRACT(jsonPayload.auth_failure)"
    }
    stale_catalog_served = {
      description = "Requests answered from a stale catalog because Firestore failed (models_api/catalog/cache.py)."
      filter      = "${local.service_logs} AND severity=WARNING AND jsonPayload.message=~\"^serving a stale catalog\""
      label       = ""
      extractor   = ""
    }
    catalog_refused = {
      description = "Catalog reads refused because they were empty or lost more than CATALOG_MAX_SHRINK_FRACTION of the models (models_api/catalog/guard.py)."
      filter      = "${local.service_logs} AND severity=ERROR AND jsonPayload.message=~\"^catalog refused\""
      label       = ""
      extractor   = ""
    }
    key_index_refused = {
      description = "API key index reads refused because they held no active keys or lost more than API_KEY_MAX_SHRINK_FRACTION of them (models_api/keys/guard.py)."
      filter      = "${local.service_logs} AND severity=ERROR AND jsonPayload.message=~\"^api key index refused\""
      label       = ""
      extractor   = ""
    }
    backend_unavailable = {
      description = "503s the handler answered because a backend (Firestore, Secret Manager, Google keys) failed."
      filter      = "${local.service_logs} AND severity=WARNING AND jsonPayload.message=~\"^answering 503\""
      label       = ""
      extractor   = ""
    }
    requests_by_auth = {
      description = "Authenticated requests by credential kind (api_key or firebase)."
      filter      = "${local.service_logs} AND jsonPayload.auth.kind:*"
      label       = "kind"
      extractor   = "EXTRACT(jsonPayload.auth.kind)"
    }
    pepper_reads = {
      description = "Reads of the API-key pepper (Data Access audit logs, see enable_pepper_audit_logs) by principal."
      filter      = "logName=\"projects/${var.project_id}/logs/cloudaudit.googleapis.com%2Fdata_access\" AND protoPayload.methodName=\"google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion\" AND protoPayload.resourceName:\"/secrets/${local.names.pepper_secret_id}/\""
      label       = "principal"
      extractor   = "EXTRACT(protoPayload.authenticationInfo.principalEmail)"
    }
  }

  notification_channels = concat(
    var.notification_channels,
    [for c in google_monitoring_notification_channel.email : c.id],
  )
  alerts_on_logs = var.enable_alerts && var.enable_log_metrics
  # External checkers reach the function only with public ingress and public access.
  uptime_check = var.enable_uptime_check && var.ingress == "ALLOW_ALL" && var.public_access != "none"
}

# --- log-based metrics -----------------------------------------------------------------------

resource "google_logging_metric" "service" {
  for_each = var.enable_log_metrics ? local.log_metrics : {}

  project     = var.project_id
  name        = "${var.function_name}/${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "${var.function_name} ${replace(each.key, "_", " ")}"

    dynamic "labels" {
      for_each = each.value.label == "" ? [] : [each.value.label]

      content {
        key         = labels.value
        value_type  = "STRING"
        description = "From the log entry: ${each.value.extractor}"
      }
    }
  }

  label_extractors = each.value.label == "" ? {} : { (each.value.label) = each.value.extractor }

  depends_on = [google_project_service.apis["logging.googleapis.com"]]
}

# A new log-based metric can take minutes before an alert policy may name it (404 meanwhile,
# hashicorp/terraform-provider-google#11102): every alert policy on a log-based metric depends
# on this wait (tests/infra check it), so the first apply succeeds in one run. Re-armed when the
# set of metrics changes: the service's and the daily drift check's (drift_check.tf).
resource "time_sleep" "log_metrics_usable" {
  count = local.alerts_on_logs ? 1 : 0

  create_duration = var.alert_policy_wait

  triggers = {
    metrics = join(",", sort(concat(
      [for m in google_logging_metric.service : m.id],
      [for m in google_logging_metric.drift : m.id],
    )))
  }
}

# --- Data Access audit logs for Secret Manager (reads of the pepper) -------------------------
# Opt-in (enable_pepper_audit_logs, default false). An audit config is per service and project
# (there is none per secret) and this resource is authoritative for secretmanager.googleapis.com:
# it replaces the project's existing config for that service (exemptions included), destroy
# deletes it, and DATA_READ logs and bills every secret read of every app in the project.

resource "google_project_iam_audit_config" "secret_manager" {
  count = var.enable_pepper_audit_logs ? 1 : 0

  project = var.project_id
  service = "secretmanager.googleapis.com"

  # DATA_READ: every access of a secret version (the pepper read); DATA_WRITE: versions added
  # or destroyed; ADMIN_READ: metadata and IAM policy reads.
  dynamic "audit_log_config" {
    for_each = toset(["ADMIN_READ", "DATA_READ", "DATA_WRITE"])

    content {
      log_type = audit_log_config.value
    }
  }

  depends_on = [google_project_service.apis["cloudresourcemanager.googleapis.com"]]
}

# --- notification ---------------------------------------------------------------------------

resource "google_monitoring_notification_channel" "email" {
  for_each = var.alert_email == "" ? toset([]) : toset([var.alert_email])

  project      = var.project_id
  display_name = "${var.function_name} alerts (${each.value})"
  type         = "email"
  labels       = { email_address = each.value }
  user_labels  = var.labels

  depends_on = [google_project_service.apis["monitoring.googleapis.com"]]
}

# --- uptime check ---------------------------------------------------------------------------
# /models without credentials: the handler's 401 with its JSON error proves the function is
# deployed, starts (settings and pepper load at start-up) and answers. Firestore health is
# watched by the 503 and stale-catalog alerts. Only with public ingress (checkers are external).

resource "google_monitoring_uptime_check_config" "models" {
  count = local.uptime_check ? 1 : 0

  project      = var.project_id
  display_name = "${var.function_name} /models answers"
  timeout      = "10s"
  period       = "300s"
  user_labels  = var.labels

  http_check {
    path           = "/models"
    port           = 443
    use_ssl        = true
    validate_ssl   = true
    request_method = "GET"

    accepted_response_status_codes {
      status_value = 401
    }
  }

  content_matchers {
    content = "\"unauthenticated\""
    matcher = "CONTAINS_STRING"
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = local.function_host
    }
  }

  depends_on = [google_project_service.apis["monitoring.googleapis.com"]]
}

# --- alert policies -------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "uptime" {
  count = local.uptime_check && var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: uptime check failing"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "/models does not answer 401 from two or more regions"

    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.labels.check_id=\"${google_monitoring_uptime_check_config.models[0].uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "0s"

      aggregations {
        alignment_period     = "1200s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.*"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The uptime check of ${var.function_name} fails: the function is down, not deployed, or refusing to start (check its logs for a ConfigError)."
  }

  depends_on = [google_project_service.apis["monitoring.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "error_ratio" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: 5xx ratio above ${var.alert_5xx_ratio}"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "5xx / all requests over 5 minutes"

    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_resource} AND metric.labels.response_code_class=\"5xx\""
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_resource}"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_5xx_ratio
      duration           = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_5xx_ratio * 100}% of requests to ${var.function_name} fail with a 5xx. 503s: see the backend and stale-catalog metrics; 500s: errors with stack traces in the logs."
  }

  depends_on = [google_project_service.apis["monitoring.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "latency" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: p99 latency above ${var.alert_p99_latency_ms} ms"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "p99 request latency over 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.run_resource}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_p99_latency_ms
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "p99 latency of ${var.function_name} is above ${var.alert_p99_latency_ms} ms: cold starts (min_instances), Firestore latency (backend_timeout_seconds) or saturated instances (max_instances, concurrency)."
  }

  depends_on = [google_project_service.apis["monitoring.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "unavailable" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: 503s above ${var.alert_503_per_second}/s"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "503 responses per second over 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_resource} AND metric.labels.response_code=\"503\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_503_per_second
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "${var.function_name} answers 503: the handler could not reach Firestore or Secret Manager (log: \"answering 503\"), or Cloud Run had no instance to take the request (max_instances)."
  }

  depends_on = [google_project_service.apis["monitoring.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "stale_catalog" {
  count = local.alerts_on_logs ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: stale catalog served"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "any request answered from a stale catalog in 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.service["stale_catalog_served"].name}\" AND ${local.run_resource}"
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

  documentation {
    mime_type = "text/markdown"
    content   = "${var.function_name} serves a catalog older than its TTL because Firestore reads fail; past CATALOG_MAX_STALE_SECONDS it answers 503."
  }

  depends_on = [
    google_project_service.apis["monitoring.googleapis.com"],
    time_sleep.log_metrics_usable,
  ]
}

resource "google_monitoring_alert_policy" "catalog_refused" {
  count = local.alerts_on_logs ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: catalog read refused (empty or shrunk)"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "any catalog read refused in 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.service["catalog_refused"].name}\" AND ${local.run_resource}"
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

  documentation {
    mime_type = "text/markdown"
    content   = "${var.function_name} read a catalog that is empty or lost more than ${var.catalog_max_shrink_fraction * 100}% of its models at once, and refused it: instances keep serving their cached catalog (up to CATALOG_MAX_STALE_SECONDS past the TTL), new instances answer 503. Check FIRESTORE_DATABASE, CATALOG_COLLECTION and the collection itself; re-run `python -m catalog_seed`. An intended large removal: `python -m catalog_seed --confirm`."
  }

  depends_on = [
    google_project_service.apis["monitoring.googleapis.com"],
    time_sleep.log_metrics_usable,
  ]
}

resource "google_monitoring_alert_policy" "key_index_refused" {
  count = local.alerts_on_logs ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: API key index read refused (empty or shrunk)"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "any API key index read refused in 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.service["key_index_refused"].name}\" AND ${local.run_resource}"
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

  documentation {
    mime_type = "text/markdown"
    content   = "${var.function_name} read an API key index with no active keys, or one that lost more than API_KEY_MAX_SHRINK_FRACTION of them without key_admin recording it, and refused it: instances keep their index (up to API_KEY_MAX_STALE_SECONDS), new instances answer API keys with 503. Check API_KEYS_DATABASE, API_KEYS_COLLECTION and the index (`python -m key_admin check-index`); `python -m key_admin rebuild-index` records the counts again."
  }

  depends_on = [
    google_project_service.apis["monitoring.googleapis.com"],
    time_sleep.log_metrics_usable,
  ]
}

resource "google_monitoring_alert_policy" "auth_failures" {
  count = local.alerts_on_logs ? 1 : 0

  project               = var.project_id
  display_name          = "${var.function_name}: auth failures above ${var.alert_auth_failures_per_second}/s"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "failed authentications per second over 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.service["auth_failures"].name}\" AND ${local.run_resource}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_auth_failures_per_second
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Failed authentications at ${var.function_name} spike: key guessing, a revoked key still in use, or a web app release without App Check. The metric's reason label tells which."
  }

  depends_on = [
    google_project_service.apis["monitoring.googleapis.com"],
    time_sleep.log_metrics_usable,
  ]
}

# --- dashboard ------------------------------------------------------------------------------

locals {
  dashboard_charts = concat(
    [
      { title = "Requests/s by response class", filter = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_resource}", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["metric.label.response_code_class"] },
      { title = "Latency p99 (ms)", filter = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.run_resource}", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_99", group_by = [] },
      { title = "Latency p50 (ms)", filter = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.run_resource}", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_50", group_by = [] },
      { title = "Instances", filter = "metric.type=\"run.googleapis.com/container/instance_count\" AND ${local.run_resource}", aligner = "ALIGN_MAX", reducer = "REDUCE_SUM", group_by = ["metric.label.state"] },
    ],
    var.enable_log_metrics ? [
      for key in ["auth_failures", "requests_by_auth", "stale_catalog_served", "catalog_refused", "backend_unavailable", "pepper_reads"] : {
        title    = "${replace(key, "_", " ")} /s"
        filter   = "metric.type=\"logging.googleapis.com/user/${var.function_name}/${key}\""
        aligner  = "ALIGN_RATE"
        reducer  = "REDUCE_SUM"
        group_by = local.log_metrics[key].label == "" ? [] : ["metric.label.${local.log_metrics[key].label}"]
      }
    ] : [],
  )
}

resource "google_monitoring_dashboard" "service" {
  count = var.enable_dashboard ? 1 : 0

  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "${var.function_name} (GET /models)"
    labels      = var.labels
    mosaicLayout = {
      columns = 48
      tiles = [
        for i, chart in local.dashboard_charts : {
          xPos   = (i % 2) * 24
          yPos   = floor(i / 2) * 16
          width  = 24
          height = 16
          widget = {
            title = chart.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = chart.filter
                    aggregation = {
                      alignmentPeriod    = "60s"
                      perSeriesAligner   = chart.aligner
                      crossSeriesReducer = chart.reducer
                      groupByFields      = chart.group_by
                    }
                  }
                }
              }]
            }
          }
        }
      ]
    }
  })

  depends_on = [
    google_project_service.apis["monitoring.googleapis.com"],
    google_logging_metric.service,
  ]
}
