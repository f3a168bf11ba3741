variable "project_id" {
  description = "Google Cloud project that hosts the function, Firestore and the pepper secret."
  type        = string
}

variable "region" {
  description = "Region of the function and its source bucket, e.g. us-central1."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Firestore location (a region such as us-central1, or a multi-region: nam5, eur3). Cannot change after creation."
  type        = string
  default     = "nam5"
}

variable "firestore_database_id" {
  description = "Firestore database id. \"(default)\" unless the project already uses it for something else."
  type        = string
  default     = "(default)"
}

variable "function_name" {
  description = "Name of the Cloud Functions (gen2) function and of its Cloud Run service."
  type        = string
  default     = "models"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.function_name))
    error_message = "function_name: lowercase letters, digits and hyphens, 2-50 characters, starting with a letter."
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
    condition     = var.min_instances >= 0
    error_message = "min_instances must be >= 0."
  }
}

variable "max_instances" {
  description = "Upper bound of instances (and so of Firestore load and cost)."
  type        = number
  default     = 20

  validation {
    condition     = var.max_instances >= 1
    error_message = "max_instances must be >= 1."
  }
}

variable "concurrency" {
  description = "Requests one instance takes at once. Requests take well under a millisecond of CPU, so gunicorn's queue absorbs more than its threads."
  type        = number
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "cpu" {
  description = "vCPUs per instance. One gunicorn worker runs per vCPU (see README, Performance)."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4"], var.cpu)
    error_message = "cpu must be \"1\", \"2\" or \"4\"."
  }
}

variable "memory" {
  description = "Memory per instance, e.g. 512Mi. Each worker uses about 100 MiB."
  type        = string
  default     = "512Mi"
}

variable "threads_per_worker" {
  description = "gunicorn threads per worker. 4 measured best on this workload (README, Performance)."
  type        = number
  default     = 4

  validation {
    condition     = var.threads_per_worker >= 1 && var.threads_per_worker <= 64
    error_message = "threads_per_worker must be between 1 and 64."
  }
}

variable "timeout_seconds" {
  description = "Request timeout. The handler itself never waits more than backend_timeout_seconds per backend call."
  type        = number
  default     = 10
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

variable "public_invocation" {
  description = "Let anyone invoke the function (allUsers). Deliberate: the handler authenticates every request itself (API key or Firebase tokens)."
  type        = bool
  default     = true
}

variable "cors_allowed_origins" {
  description = "Origins of the web app that get CORS grants, e.g. [\"https://app.example.com\"]."
  type        = list(string)
  default     = []
}

variable "firebase_project_id" {
  description = "Project whose Firebase ID tokens and App Check tokens are accepted. Empty: project_id."
  type        = string
  default     = ""
}

variable "catalog_cache_ttl_seconds" {
  description = "Seconds an instance serves its cached catalog before reading Firestore again."
  type        = number
  default     = 60
}

variable "api_key_cache_ttl_seconds" {
  description = "Seconds an API key lookup is cached per instance: the revocation delay (at most 60)."
  type        = number
  default     = 60

  validation {
    condition     = var.api_key_cache_ttl_seconds >= 0 && var.api_key_cache_ttl_seconds <= 60
    error_message = "api_key_cache_ttl_seconds must be between 0 and 60."
  }
}

variable "backend_timeout_seconds" {
  description = "Longest wait on Firestore, Secret Manager or Google's key endpoints in one call."
  type        = number
  default     = 3
}

variable "pepper_version" {
  description = "Bump to generate and store a new API-key pepper. Changing it invalidates every existing API key."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Protect the Firestore database from deletion (recommended)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels put on every resource that takes them."
  type        = map(string)
  default     = { service = "models-api" }
}
