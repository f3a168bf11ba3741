terraform {
  # 1.11: write-only arguments and ephemeral resources keep the pepper out of state; variable
  # validations refer to other variables (>= 1.9); import blocks take for_each (>= 1.7).
  required_version = ">= 1.11.0"

  # Remote state, locked and versioned: a GCS bucket (README, Remote state; infra/up.sh creates
  # it with object versioning on). Partial configuration, so no bucket name is committed:
  #   terraform init -backend-config="bucket=<project_id>-tfstate"
  backend "gcs" {
    prefix = "models-api"
  }

  required_providers {
    google = {
      source = "hashicorp/google"
      # tests/infra check every resource, argument and block against the schema of google
      # provider 6.50.0 (tests/infra/provider_schema.py); stay on 6.x from there.
      version = "~> 6.50"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.7.0, < 4.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.7.0, < 3.0.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.12.0, < 1.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  # The Firebase Rules and App Check APIs reject end-user credentials without a quota project
  # (hashicorp/terraform-provider-google#8263): bill API calls to this project. The deployer needs
  # serviceusage.services.use on it (README, Prerequisites).
  user_project_override = true
  billing_project       = var.project_id
}
