# App Check for the web app (optional, off until app_check_web_app_id is set). The browser path
# of the API needs an App Check token with every Firebase ID token (X-Firebase-AppCheck); the
# handler verifies it for project firebase_project_id. Tokens exist only once the web app is
# registered with an attestation provider: here reCAPTCHA Enterprise, with a score-based site
# key restricted to the web app's domains. What Terraform cannot do (registering the web app,
# the SDK call in the web app, debug tokens, enforcement for other Firebase products) is listed
# in infra/README.md, "App Check".

resource "google_recaptcha_enterprise_key" "web" {
  count = local.app_check ? 1 : 0

  project      = var.project_id
  display_name = "${var.function_name} web app (App Check)"
  labels       = var.labels

  web_settings {
    integration_type  = "SCORE"
    allowed_domains   = var.app_check_domains
    allow_amp_traffic = false
  }

  depends_on = [google_project_service.apis["recaptchaenterprise.googleapis.com"]]
}

resource "google_firebase_app_check_recaptcha_enterprise_config" "web" {
  count = local.app_check ? 1 : 0

  project   = var.project_id
  app_id    = var.app_check_web_app_id
  site_key  = google_recaptcha_enterprise_key.web[0].name
  token_ttl = var.app_check_token_ttl

  depends_on = [google_project_service.apis["firebaseappcheck.googleapis.com"]]
}
