# Every rule Google enforces at apply time that can be checked here is a validation, so a bad
# value fails at `terraform plan` instead of half-way through the first apply. The rules and
# their sources are listed in infra/README.md ("Apply-time rules"); tests/infra runs Terraform
# on these blocks with good and bad values.

variable "project_id" {
  description = "Google Cloud project (Firebase project) that hosts the function, Firestore and the pepper secret."
  type        = string

  validation {
    # Project ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a
    # letter, not ending with a hyphen. Domain-scoped ids (example.com:p) are not supported.
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id: 6-30 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "region" {
  description = "Region of the function, its Artifact Registry repository and its source bucket, e.g. us-central1."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1."
  }
}

variable "firestore_location" {
  description = "Location of a Firestore database Terraform creates: a region (us-central1) or a multi-region (nam5, nam7, eur3). Ignored for an adopted database (a location cannot change)."
  type        = string
  default     = "nam5"

  validation {
    condition     = can(regex("^(nam5|nam7|eur3|[a-z]+-[a-z]+[0-9]+)$", var.firestore_location))
    error_message = "firestore_location must be nam5, nam7, eur3 or a region such as us-central1."
  }
}

variable "firestore_database_id" {
  description = "The catalog's Firestore database. Default: \"catalog\", a database of its own. \"(default)\" adopts the project's default database, usually the web app's: IAM conditions tell databases apart, not collections, so the runtime and drift-check accounts can then read every collection in it and catalog_editors can write all of them (README, Databases)."
  type        = string
  default     = "catalog"

  validation {
    condition     = var.firestore_database_id == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.firestore_database_id))
    error_message = "firestore_database_id must be \"(default)\" or 4-63 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen."
  }
}

variable "adopt_existing_firestore_database" {
  description = "true: the database already exists (the (default) database of most Firebase projects does) and is imported, then managed (PITR, delete protection); false: Terraform creates it. No default: a wrong guess fails either way (import of a missing database, or 409 on create)."
  type        = bool
}

variable "function_name" {
  description = "Name of the Cloud Functions (gen2) function and of its Cloud Run service."
  type        = string
  default     = "models"

  validation {
    # Cloud Run service names: lowercase letters, digits and hyphens, starting with a letter,
    # not ending with a hyphen, fewer than 50 characters (a revision name adds a suffix).
    condition     = can(regex("^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$", var.function_name))
    error_message = "function_name: 1-49 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "name_prefix" {
  description = "Prefix of the service accounts (<prefix>-run, <prefix>-build), the pepper secret, the image repository and the source bucket. Empty: function_name, which must then be 2-24 characters."
  type        = string
  default     = ""

  validation {
    # Service account ids are 6-30 characters ([a-z][a-z0-9-]*[a-z0-9]): "<prefix>-build" needs
    # a prefix of at most 24, "<prefix>-run" one of at least 2. The bucket
    # "<project_id>-<prefix>-src" is then at most 30 + 1 + 24 + 4 = 59 <= 63 characters.
    condition = can(regex(
      "^[a-z]([a-z0-9-]{0,22}[a-z0-9])$",
      var.name_prefix != "" ? var.name_prefix : var.function_name,
    ))
    error_message = "name_prefix (or function_name when name_prefix is empty) must be 2-24 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen: it prefixes 6-30 character service account ids."
  }
}

variable "python_runtime" {
  description = "Cloud Functions Python runtime."
  type        = string
  default     = "python311"

  validation {
    condition     = contains(["python311", "python312", "python313"], var.python_runtime)
    error_message = "python_runtime must be python311, python312 or python313."
  }
}

variable "min_instances" {
  description = "Instances kept warm. 1 removes cold starts for the first client of the day."
  type        = number
  default     = 1

  validation {
    condition     = var.min_instances >= 0 && var.min_instances <= var.max_instances && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number between 0 and max_instances."
  }
}

variable "max_instances" {
  description = "Upper bound of instances (and so of Firestore load and cost)."
  type        = number
  default     = 20

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number between 1 and 1000."
  }
}

variable "concurrency" {
  description = "Requests one instance takes at once (Cloud Run allows 1-1000). Requests take well under a millisecond of CPU, so gunicorn's queue absorbs more than its threads."
  type        = number
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000 && floor(var.concurrency) == var.concurrency
    error_message = "concurrency must be a whole number between 1 and 1000."
  }
}

variable "cpu" {
  description = "vCPUs per instance: 1, 2, 4, 6 or 8. One gunicorn worker runs per vCPU (see README, Performance). Concurrency above 1 needs at least 1 vCPU."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be \"1\", \"2\", \"4\", \"6\" or \"8\"."
  }
}

variable "memory" {
  description = "Memory per instance in Mi or Gi, e.g. 512Mi or 2Gi. Cloud Run: 1 vCPU takes 128Mi-4Gi, 2 vCPU 128Mi-8Gi, 4 vCPU 2Gi-16Gi, 6 vCPU 4Gi-24Gi, 8 vCPU 4Gi-32Gi. Each worker uses about 100 MiB."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi)$", var.memory))
    error_message = "memory must be a whole number of Mi or Gi, e.g. 512Mi or 2Gi."
  }

  validation {
    # https://cloud.google.com/run/docs/configuring/services/memory-limits (memory per vCPU).
    # A malformed value is reported by the rule above (try: HCL's || does not short-circuit).
    condition = try(
      tonumber(regex("^[0-9]+", var.memory)) * (endswith(var.memory, "Gi") ? 1024 : 1) >= lookup({ "1" = 128, "2" = 128, "4" = 2048, "6" = 4096, "8" = 4096 }, var.cpu, 128) &&
      tonumber(regex("^[0-9]+", var.memory)) * (endswith(var.memory, "Gi") ? 1024 : 1) <= lookup({ "1" = 4096, "2" = 8192, "4" = 16384, "6" = 24576, "8" = 32768 }, var.cpu, 4096),
      true,
    )
    error_message = "memory does not fit cpu: 1 vCPU takes 128Mi-4Gi, 2 vCPU 128Mi-8Gi, 4 vCPU 2Gi-16Gi, 6 vCPU 4Gi-24Gi, 8 vCPU 4Gi-32Gi."
  }
}

variable "threads_per_worker" {
  description = "gunicorn threads per worker. 4 measured best on this workload (README, Performance)."
  type        = number
  default     = 4

  validation {
    condition     = var.threads_per_worker >= 1 && var.threads_per_worker <= 64 && floor(var.threads_per_worker) == var.threads_per_worker
    error_message = "threads_per_worker must be a whole number between 1 and 64."
  }
}

variable "timeout_seconds" {
  description = "Request timeout (HTTP functions allow 1-3600 s). The handler itself never waits more than backend_timeout_seconds per backend call."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number between 1 and 3600."
  }
}

variable "ingress" {
  description = "Who may reach the function over the network."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress)
    error_message = "ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "public_access" {
  description = "How anyone on the internet may invoke the function (the handler authenticates every request itself): \"all_users\" grants allUsers roles/run.invoker (refused where the organisation policy iam.allowedPolicyMemberDomains, domain-restricted sharing, applies); \"invoker_check_disabled\" turns off Cloud Run's invoker IAM check instead (works under domain-restricted sharing; needs gcloud on the machine running apply, see README); \"none\": only principals granted roles/run.invoker can call it. No default: infra/up.sh reads the organisation policy and chooses."
  type        = string

  validation {
    condition     = contains(["all_users", "invoker_check_disabled", "none"], var.public_access)
    error_message = "public_access must be all_users, invoker_check_disabled or none."
  }
}

variable "trusted_proxy_hops" {
  description = "How many proxies in front of the function append to X-Forwarded-For (the client address is the entry that many from the right; it keys the auth-failure throttle). null: 1 for ingress ALLOW_ALL and ALLOW_INTERNAL_ONLY (Google's front end appends the client), 2 for ALLOW_INTERNAL_AND_GCLB (an external Application Load Balancer appends the client and itself). See README, Client addresses."
  type        = number
  default     = null

  validation {
    condition     = var.trusted_proxy_hops == null || try(var.trusted_proxy_hops >= 0 && var.trusted_proxy_hops <= 10 && floor(var.trusted_proxy_hops) == var.trusted_proxy_hops, false)
    error_message = "trusted_proxy_hops must be null or a whole number between 0 and 10."
  }
}

variable "cors_allowed_origins" {
  description = "Origins of the web app that get CORS grants, e.g. [\"https://app.example.com\"]."
  type        = list(string)
  default     = []

  validation {
    # The same rule models_api/config.py applies at start-up (an instance would refuse to start).
    condition     = alltrue([for o in var.cors_allowed_origins : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", o))])
    error_message = "cors_allowed_origins: each entry must be an origin such as https://app.example.com (no path, no trailing slash)."
  }
}

variable "firebase_project_id" {
  description = "Project whose Firebase ID tokens and App Check tokens are accepted. Empty: project_id."
  type        = string
  default     = ""

  validation {
    condition     = var.firebase_project_id == "" || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.firebase_project_id))
    error_message = "firebase_project_id must be empty or a project id."
  }
}

variable "catalog_cache_ttl_seconds" {
  description = "Seconds an instance serves its cached catalog before reading Firestore again (1-3600)."
  type        = number
  default     = 60

  validation {
    condition     = var.catalog_cache_ttl_seconds >= 1 && var.catalog_cache_ttl_seconds <= 3600
    error_message = "catalog_cache_ttl_seconds must be between 1 and 3600."
  }
}

variable "catalog_max_shrink_fraction" {
  description = "Largest fraction of the active models an instance accepts losing in one catalog read (0-1); a larger loss, or an empty read, is refused and alerted on unless the seed recorded it (python -m catalog_seed --confirm)."
  type        = number
  default     = 0.25

  validation {
    condition     = var.catalog_max_shrink_fraction >= 0 && var.catalog_max_shrink_fraction <= 1
    error_message = "catalog_max_shrink_fraction must be between 0 and 1."
  }
}

variable "api_key_refresh_seconds" {
  description = "Seconds between polls of the API key index head per instance; a revoked, disabled or expired key is refused everywhere within twice this (0.05-30)."
  type        = number
  default     = 4

  validation {
    condition     = var.api_key_refresh_seconds >= 0.05 && var.api_key_refresh_seconds <= 30
    error_message = "api_key_refresh_seconds must be between 0.05 and 30."
  }
}

variable "backend_timeout_seconds" {
  description = "Longest wait on Firestore, Secret Manager or Google's key endpoints in one call (0.1-30, below timeout_seconds)."
  type        = number
  default     = 3

  validation {
    condition     = var.backend_timeout_seconds >= 0.1 && var.backend_timeout_seconds <= 30 && var.backend_timeout_seconds < var.timeout_seconds
    error_message = "backend_timeout_seconds must be between 0.1 and 30 and below timeout_seconds."
  }
}

variable "pepper_version" {
  description = "The current API-key pepper version: Terraform keeps Secret Manager versions 1..pepper_version (never destroying one) and the function uses this one for new keys. Raise it by one to rotate (set previous_pepper_version to the old value in the same apply): no key is invalidated."
  type        = number
  default     = 1

  validation {
    condition     = var.pepper_version >= 1 && floor(var.pepper_version) == var.pepper_version
    error_message = "pepper_version must be a whole number >= 1."
  }

  # The rules that tie the pepper variables together live here: validations of variables that
  # refer to each other would form a cycle, and nothing refers to pepper_version's.
  validation {
    condition     = var.previous_pepper_version < var.pepper_version
    error_message = "previous_pepper_version must be 0 (none) or a whole number below pepper_version."
  }

  validation {
    condition     = alltrue([for v in var.retired_pepper_versions : v < var.pepper_version])
    error_message = "retired_pepper_versions: versions below pepper_version, never the current or the previous one."
  }

  # The rotation that would orphan keys: a version that is neither the previous one nor
  # retired silently stops verifying (raising pepper_version while previous_pepper_version
  # stays 0 gives every existing key 401).
  validation {
    condition     = alltrue([for g in range(1, var.pepper_version) : g == var.previous_pepper_version || contains(var.retired_pepper_versions, g)])
    error_message = "Every pepper version below pepper_version must be previous_pepper_version or listed in retired_pepper_versions. Rotating: set previous_pepper_version to the old pepper_version, or its keys get 401. Retiring: run `infra/retire_pepper.sh N --check-only`, then list N in retired_pepper_versions (README, Pepper rotation)."
  }
}

variable "previous_pepper_version" {
  description = "The pepper version still accepted for keys minted before the last rotation (API_KEY_PREVIOUS_PEPPER). 0: none. Every version below pepper_version is this one or retired (README, Pepper rotation)."
  type        = number
  default     = 0

  validation {
    condition     = var.previous_pepper_version >= 0 && floor(var.previous_pepper_version) == var.previous_pepper_version
    error_message = "previous_pepper_version must be 0 (none) or a whole number below pepper_version."
  }
}

variable "retired_pepper_versions" {
  description = "Pepper versions retired on purpose. Before the function stops reading one, the apply checks that no live key depends on it (infra/retire_pepper.sh --check-only: any failure stops the apply); after, it disables its Secret Manager version, which later applies never re-enable. Never the current or the previous version."
  type        = list(number)
  default     = []

  validation {
    condition     = alltrue([for v in var.retired_pepper_versions : v >= 1 && v != var.previous_pepper_version])
    error_message = "retired_pepper_versions: versions below pepper_version, never the current or the previous one."
  }
}

variable "pepper_retirement_accepts_live_keys" {
  description = "Retired versions whose remaining live keys may stop working (retire_pepper.sh --accept-live-keys). A failed check (credentials, Firestore) still stops the apply."
  type        = list(number)
  default     = []

  validation {
    condition     = alltrue([for v in var.pepper_retirement_accepts_live_keys : contains(var.retired_pepper_versions, v)])
    error_message = "pepper_retirement_accepts_live_keys: only versions listed in retired_pepper_versions."
  }
}

variable "deletion_protection" {
  description = "Protect the databases Terraform creates (delete protection; abandoned, not deleted, on destroy) and the pepper secret (Terraform deletion protection). An adopted database is always abandoned on destroy, whatever this says."
  type        = bool
  default     = true
}

variable "image_keep_count" {
  description = "Artifact Registry cleanup: the most recent image versions kept per package, whatever their age."
  type        = number
  default     = 5

  validation {
    condition     = var.image_keep_count >= 1 && var.image_keep_count <= 100 && floor(var.image_keep_count) == var.image_keep_count
    error_message = "image_keep_count must be a whole number between 1 and 100."
  }
}

variable "image_max_age_days" {
  description = "Artifact Registry cleanup: image versions older than this are deleted unless they are among the image_keep_count most recent."
  type        = number
  default     = 30

  validation {
    condition     = var.image_max_age_days >= 1 && floor(var.image_max_age_days) == var.image_max_age_days
    error_message = "image_max_age_days must be a whole number >= 1."
  }
}

variable "iam_propagation_wait" {
  description = "How long to wait after the build and runtime grants before the function is built: IAM changes take up to minutes to propagate (the provider's own builder example waits 60s)."
  type        = string
  default     = "90s"

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a duration such as 90s or 2m."
  }
}

variable "deployer_members" {
  description = "Principals that deploy with Terraform or gcloud (e.g. \"serviceAccount:ci@p.iam.gserviceaccount.com\"): granted roles/iam.serviceAccountUser on the runtime and build accounts. The principal running the first apply needs it already (see README)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.deployer_members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+", m))])
    error_message = "deployer_members: each entry must be an IAM member such as user:a@example.com or serviceAccount:x@p.iam.gserviceaccount.com."
  }
}

variable "catalog_editors" {
  description = "Principals that seed the catalog (python -m catalog_seed): granted roles/datastore.user on the catalog database only (not on api_keys_database_id)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.catalog_editors : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+", m))])
    error_message = "catalog_editors: each entry must be an IAM member such as group:catalog@example.com."
  }
}

variable "key_admins" {
  description = "Principals that mint, list and revoke API keys (python -m key_admin): roles/datastore.user on the API keys database only and roles/secretmanager.secretAccessor on the pepper secret."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.key_admins : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+", m))])
    error_message = "key_admins: each entry must be an IAM member such as group:key-admins@example.com."
  }
}

variable "manage_firestore_rules" {
  description = "Deploy Firestore security rules to the database. Default false: an existing project's rules are left exactly as they are. true with firestore_rules_base_file: the project's own rules file with the service's denials merged in; true without it: infra/firestore.rules (deny every client), for a database only this service uses."
  type        = bool
  default     = false
}

variable "firestore_rules_base_file" {
  description = "Path (relative to infra/, or absolute) of the project's own firestore.rules (the web app's, usually deployed with `firebase deploy`). With manage_firestore_rules, the service's denials for its collections are merged into it (infra/firestore_rules.tf) and the result is released. Empty: no merge."
  type        = string
  default     = ""
}

variable "adopt_existing_firestore_rules_release" {
  description = "true: the database already has a rules release (a database made in the Firebase console does) and it is imported, then pointed at the merged rules. null: same as adopt_existing_firestore_database."
  type        = bool
  default     = null
}

variable "api_keys_database_id" {
  description = "Firestore database holding the API keys and their index, apart from the catalog's so catalog editors cannot write keys (IAM conditions tell databases apart, not collections). Created by Terraform, its own deny-all rules released. Must differ from firestore_database_id."
  type        = string
  default     = "api-keys"

  validation {
    condition     = var.api_keys_database_id != var.firestore_database_id && can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.api_keys_database_id))
    error_message = "api_keys_database_id must be a named database id (4-63 lowercase letters, digits and hyphens) other than firestore_database_id."
  }
}

variable "enable_uptime_check" {
  description = "Create an uptime check of <url>/models (expects the handler's 401 for a request without credentials) and its alert."
  type        = bool
  default     = true
}

variable "enable_alerts" {
  description = "Create the alert policies (5xx ratio, p99 latency, 503 rate; stale catalog and auth-failure spike also need enable_log_metrics)."
  type        = bool
  default     = true
}

variable "enable_log_metrics" {
  description = "Create log-based metrics from the service's JSON logs (auth failures by reason, stale catalog served, backend 503s, requests by auth kind, pepper reads)."
  type        = bool
  default     = true
}

variable "enable_dashboard" {
  description = "Create a Cloud Monitoring dashboard for the function."
  type        = bool
  default     = true
}

variable "enable_pepper_audit_logs" {
  description = "Opt-in. Data Access audit logs (DATA_READ) for Secret Manager, so every read of the pepper is logged. WARNING: an audit config is per service and project and this resource is authoritative for it: the apply REPLACES the project's existing Secret Manager audit config (its exempted members included), destroy deletes it, and every secret read of every app in the project is logged and billed."
  type        = bool
  default     = false
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) the alerts notify. No default: name at least one channel, or set alert_email, or pass [] with alert_email = \"\" to say on purpose that alerts only open incidents in the console."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "notification_channels: each entry must look like projects/P/notificationChannels/123."
  }
}

variable "alert_email" {
  description = "An email notification channel is created for this address and added to every alert. No default: an address, or \"\" for none."
  type        = string

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be empty or an email address."
  }
}

variable "alert_policy_wait" {
  description = "How long the alert policies on log-based metrics wait after those metrics are created: a new metric can take minutes before an alert policy may refer to it (404 otherwise, hashicorp/terraform-provider-google#11102)."
  type        = string
  default     = "180s"

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.alert_policy_wait))
    error_message = "alert_policy_wait must be a duration such as 180s or 3m."
  }
}

variable "alert_5xx_ratio" {
  description = "Alert when more than this fraction of requests get a 5xx over 5 minutes."
  type        = number
  default     = 0.02

  validation {
    condition     = var.alert_5xx_ratio > 0 && var.alert_5xx_ratio < 1
    error_message = "alert_5xx_ratio must be between 0 and 1."
  }
}

variable "alert_p99_latency_ms" {
  description = "Alert when the p99 request latency stays above this many milliseconds for 5 minutes."
  type        = number
  default     = 1000

  validation {
    condition     = var.alert_p99_latency_ms > 0
    error_message = "alert_p99_latency_ms must be positive."
  }
}

variable "alert_503_per_second" {
  description = "Alert when 503 responses exceed this rate (per second, over 5 minutes)."
  type        = number
  default     = 0.1

  validation {
    condition     = var.alert_503_per_second > 0
    error_message = "alert_503_per_second must be positive."
  }
}

variable "alert_auth_failures_per_second" {
  description = "Alert when failed authentications (401, uptime checks excluded) exceed this rate (per second, over 5 minutes)."
  type        = number
  default     = 1

  validation {
    condition     = var.alert_auth_failures_per_second > 0
    error_message = "alert_auth_failures_per_second must be positive."
  }
}

variable "app_check_web_app_id" {
  description = "Firebase web app id (1:123:web:abc) to register with App Check (reCAPTCHA Enterprise). Empty: App Check is not provisioned."
  type        = string
  default     = ""

  validation {
    condition     = var.app_check_web_app_id == "" || can(regex("^1:[0-9]+:web:[0-9a-f]+$", var.app_check_web_app_id))
    error_message = "app_check_web_app_id must be empty or a Firebase web app id such as 1:123456789:web:abc123."
  }
}

variable "app_check_domains" {
  description = "Domains the web app is served from (reCAPTCHA Enterprise key allow-list), e.g. [\"app.example.com\"]. Required when app_check_web_app_id is set."
  type        = list(string)
  default     = []

  validation {
    condition     = var.app_check_web_app_id == "" || length(var.app_check_domains) > 0
    error_message = "app_check_domains must list the web app's domains when app_check_web_app_id is set."
  }

  validation {
    condition     = alltrue([for d in var.app_check_domains : can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", d))])
    error_message = "app_check_domains: bare domain names such as app.example.com (no scheme, no path)."
  }
}

variable "app_check_token_ttl" {
  description = "Lifetime of App Check tokens minted for the web app (30m to 7d, as seconds: \"3600s\")."
  type        = string
  default     = "3600s"

  validation {
    condition     = try(tonumber(regex("^([0-9]+)s$", var.app_check_token_ttl)[0]) >= 1800 && tonumber(regex("^([0-9]+)s$", var.app_check_token_ttl)[0]) <= 604800, false)
    error_message = "app_check_token_ttl must be between 1800s and 604800s (30 minutes to 7 days)."
  }
}

variable "labels" {
  description = "Labels put on every resource that takes them."
  type        = map(string)
  default     = { service = "models-api" }

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))]) && length(var.labels) <= 64
    error_message = "labels: keys 1-63 characters starting with a lowercase letter, values 0-63 characters; lowercase letters, digits, _ and - only."
  }
}

# --- the daily drift check (drift_check.tf) ---------------------------------------------------

variable "enable_drift_check" {
  description = "Provision the daily drift check: a second function from the same source (entry point drift_check) that Cloud Scheduler runs once a day, auditing the served catalog against OpenRouter's and LiteLLM's public data, with its log-based metrics and alerts."
  type        = bool
  default     = true
}

variable "drift_check_schedule" {
  description = "When the drift check runs (cron, 5 fields, in UTC)."
  type        = string
  default     = "17 6 * * *"

  validation {
    condition     = length(split(" ", trimspace(var.drift_check_schedule))) == 5
    error_message = "drift_check_schedule must be a 5-field cron expression such as \"17 6 * * *\"."
  }
}

variable "drift_check_timeout_seconds" {
  description = "How long one drift check may take (downloads included), 60-1770 seconds: the Scheduler job's attempt_deadline is this plus 30 s, and Cloud Scheduler allows at most 1800 s for HTTP targets."
  type        = number
  default     = 300

  validation {
    condition     = var.drift_check_timeout_seconds >= 60 && var.drift_check_timeout_seconds <= 1770
    error_message = "drift_check_timeout_seconds must be between 60 and 1770 (attempt_deadline = timeout + 30 s, at most 1800 s)."
  }
}

variable "drift_check_litellm_url" {
  description = "URL of LiteLLM's model_prices_and_context_window.json. Empty: its public raw GitHub URL (drift_check/settings.py)."
  type        = string
  default     = ""

  validation {
    condition     = var.drift_check_litellm_url == "" || can(regex("^https://", var.drift_check_litellm_url))
    error_message = "drift_check_litellm_url must be empty or an https:// URL."
  }
}

variable "drift_check_genai_prices_url" {
  description = "URL of genai-prices' prices/data.json. Empty: its public raw GitHub URL (drift_check/settings.py)."
  type        = string
  default     = ""

  validation {
    condition     = var.drift_check_genai_prices_url == "" || can(regex("^https://", var.drift_check_genai_prices_url))
    error_message = "drift_check_genai_prices_url must be empty or an https:// URL."
  }
}

variable "drift_check_openrouter_models_url" {
  description = "URL of OpenRouter's models API. Empty: https://openrouter.ai/api/v1/models."
  type        = string
  default     = ""

  validation {
    condition     = var.drift_check_openrouter_models_url == "" || can(regex("^https://", var.drift_check_openrouter_models_url))
    error_message = "drift_check_openrouter_models_url must be empty or an https:// URL."
  }
}

variable "drift_check_openrouter_endpoints_url" {
  description = "URL template of OpenRouter's per-model endpoints API, with {model} for the routed model's id. Empty: https://openrouter.ai/api/v1/models/{model}/endpoints."
  type        = string
  default     = ""

  validation {
    condition     = var.drift_check_openrouter_endpoints_url == "" || (can(regex("^https://", var.drift_check_openrouter_endpoints_url)) && strcontains(var.drift_check_openrouter_endpoints_url, "{model}"))
    error_message = "drift_check_openrouter_endpoints_url must be empty or an https:// URL containing {model}."
  }
}
