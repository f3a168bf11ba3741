"""A fake `gcloud` (and the `curl` calls deploy.sh makes to the Firebase Rules API and up.sh to
testIamPermissions and tokeninfo) that keeps state in a JSON file and records every call, for
running infra/gcloud/deploy.sh and infra/up.sh offline.

Only the commands the scripts use are known; anything else fails loudly, as does creating what
exists (the real API's 409), so a script that is not re-runnable fails here too. Each recorded
call says whether it changed the state and which credentials it ran with.

Parsed as gcloud 528.0.0 parses (checked against that release's own error messages): a Cloud
Run SERVICE is a short name (a full projects/.../services/... name is an invalid resource
name), `run services` needs --region, and every call but `auth ...` needs credentials: an
access token file (--access-token-file or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, whose file must be
readable) or an active gcloud login (FAKE_GCLOUD_ACCOUNT). `gcloud auth application-default
print-access-token` answers only with Application Default Credentials: GOOGLE_APPLICATION_
CREDENTIALS naming a file, or application_default_credentials.json in CLOUDSDK_CONFIG.
`gcloud auth application-default set-quota-project` reads and writes only that well-known file
(GOOGLE_APPLICATION_CREDENTIALS is ignored) and refuses one that is not a user's credentials.
`storage buckets` take gs:// URLs only; `org-policies describe` needs its CONSTRAINT and one of
--project, --folder, --organization.

    fake_gcloud.py gcloud ARGS...   /   fake_gcloud.py curl ARGS...
    FAKE_GCLOUD_STATE=state.json FAKE_GCLOUD_LOG=calls.jsonl
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

PROJECT_NUMBER = "123456789012"
# The one IAM policy query deploy.sh makes: the run.invoker members, one per line.
INVOKER_QUERY = ("bindings[].members", "bindings.role=roles/run.invoker", "value(bindings.members)")
# `gcloud scheduler jobs describe --format=value(...)`: the job's fields, from the flags that
# set them (tab-separated, as gcloud prints a value() of several fields).
JOB_FIELDS = {
    "schedule": "schedule",
    "timeZone": "time-zone",
    "httpTarget.uri": "uri",
    "httpTarget.httpMethod": "http-method",
    "httpTarget.oidcToken.serviceAccountEmail": "oidc-service-account-email",
    "httpTarget.oidcToken.audience": "oidc-token-audience",
    "attemptDeadline": "attempt-deadline",
    "retryConfig.retryCount": "max-retry-attempts",
    "retryConfig.minBackoffDuration": "min-backoff",
    "retryConfig.maxBackoffDuration": "max-backoff",
}


# gcloud 528's rule for a Cloud Run service name (the positional SERVICE).
SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
ADC_TOKEN = "ya29.fake-adc-token"
LOGIN_TOKEN = "ya29.fake-login-token"


class Refused(Exception):
    """The real service would refuse this call (exit 1 with a message)."""


def _split(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    words: list[str] = []
    flags: dict[str, str] = {}
    for arg in argv:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            flags[key] = value
        else:
            words.append(arg)
    return words, flags


def _new(state: dict[str, Any], kind: str, key: str, value: Any = True) -> bool:
    bucket = state.setdefault(kind, {})
    if key in bucket:
        raise Refused(f"ALREADY_EXISTS: {kind} {key}")
    bucket[key] = value
    return True


def _set(state: dict[str, Any], kind: str, key: str, value: Any) -> bool:
    bucket = state.setdefault(kind, {})
    changed: bool = bucket.get(key) != value
    bucket[key] = value
    return changed


def _exists(state: dict[str, Any], kind: str, key: str) -> None:
    if key not in state.get(kind, {}):
        raise Refused(f"NOT_FOUND: {kind} {key}")


def _describe_function(name: str, function: dict[str, str], output_format: str) -> str:
    """`gcloud functions describe` in the formats deploy.sh and retire_pepper.sh ask for."""
    if output_format == "json":
        secrets = []
        for item in function["set-secrets"].split(","):
            key, _, reference = item.partition("=")
            secret, _, version = reference.partition(":")
            secrets.append({"key": key, "secret": secret, "version": version})
        return json.dumps({"serviceConfig": {"secretEnvironmentVariables": secrets}})
    if output_format == "value(labels.deploy_fingerprint)":
        labels = dict(item.split("=", 1) for item in function["update-labels"].split(","))
        return labels.get("deploy_fingerprint", "") + "\n"
    if output_format == "value(serviceConfig.uri)":
        return f"https://{name}-{PROJECT_NUMBER}.{function['region']}.run.app\n"
    raise Refused(f"fake gcloud does not know the format {output_format!r}")


def _scheduler_job(
    state: dict[str, Any], words: list[str], flags: dict[str, str], project: str
) -> tuple[bool, str]:
    """gcloud scheduler jobs describe | create http | update http."""
    verb = words[2]
    name = words[3] if verb == "describe" else words[4]
    key = f"{project}/{flags.get('location')}/{name}"
    settings = {flag: flags[flag] for flag in JOB_FIELDS.values() if flag in flags}
    if verb == "describe":
        _exists(state, "scheduler_jobs", key)
        wanted = flags.get("format", "").removeprefix("value(").removesuffix(")").split(",")
        if set(wanted) - set(JOB_FIELDS):
            raise Refused(f"fake gcloud does not know the format {flags.get('format')!r}")
        job = state["scheduler_jobs"][key]
        return False, "\t".join(job.get(JOB_FIELDS[f], "") for f in wanted) + "\n"
    if words[3] != "http":
        raise Refused("fake gcloud knows http scheduler jobs only")
    if verb == "create":
        return _new(state, "scheduler_jobs", key, settings), ""
    if verb == "update":
        _exists(state, "scheduler_jobs", key)
        return _set(state, "scheduler_jobs", key, {**state["scheduler_jobs"][key], **settings}), ""
    raise Refused(f"fake gcloud does not know: gcloud scheduler jobs {verb} ...")


def _effective_policy(state: dict[str, Any], words: list[str], flags: dict[str, str]) -> str:
    """`gcloud org-policies describe CONSTRAINT --project=P --effective --format=json`."""
    if len(words) < 3:
        raise Refused("argument CONSTRAINT: Must be specified.")
    if sum(bool(flags.get(f)) for f in ("project", "folder", "organization")) != 1:
        raise Refused("Exactly one of (--folder | --organization | --project) must be specified.")
    if "effective" not in flags or flags.get("format") != "json":
        raise Refused("fake gcloud knows only --effective --format=json org policies")
    constraint = words[2].removeprefix("constraints/")
    name = f"projects/{PROJECT_NUMBER}/policies/{constraint}"
    spec = state.get("org_policies", {}).get(constraint)
    return json.dumps({"name": name, **({"spec": spec} if spec else {})}) + "\n"


def _bucket(state: dict[str, Any], words: list[str], flags: dict[str, str]) -> tuple[bool, str]:
    """gcloud storage buckets describe | create | update gs://BUCKET."""
    url = words[3] if len(words) > 3 else ""
    if not url.startswith("gs://"):
        raise Refused(
            f'"gcloud storage buckets {words[2]}" only accepts bucket URLs.\n'
            f'Example: "gs://bucket"\nReceived: "file://{url}"'
        )
    name = url.removeprefix("gs://").rstrip("/")
    if words[2] == "describe":
        _exists(state, "buckets", name)
        return False, json.dumps(state["buckets"][name]) + "\n"
    if words[2] == "create":
        return _new(state, "buckets", name, {**flags, "versioning": False}), ""
    if words[2] == "update":
        _exists(state, "buckets", name)
        if "versioning" not in flags:
            raise Refused("fake gcloud knows only --versioning of storage buckets update")
        bucket = state["buckets"][name]
        changed = bucket.get("versioning") is not True
        bucket["versioning"] = True
        return changed, ""
    raise Refused(f"fake gcloud does not know: gcloud storage buckets {words[2]} ...")


def _adc_present() -> bool:
    named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if named:
        if not Path(named).is_file():
            raise Refused(f"File {named} was not found.")
        return True
    config = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    return (Path(config) / "application_default_credentials.json").is_file()


def _well_known_adc() -> Path:
    config = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    return Path(config) / "application_default_credentials.json"


def _set_quota_project(state: dict[str, Any], project: str) -> str:
    """`gcloud auth application-default set-quota-project`, as 528's auth_util does it."""
    adc = _well_known_adc()
    if not adc.is_file():
        raise Refused(
            "Application default credentials have not been set up. Run $ gcloud auth "
            "application-default login to set it up first."
        )
    content = json.loads(adc.read_text(encoding="utf-8"))
    if content.get("type") not in ("authorized_user", "external_account_authorized_user"):
        raise Refused(
            "The application default credentials are not user credentials, quota project "
            "cannot be added."
        )
    if "serviceusage.services.use" in state.get("permissions_lacking", []):
        raise Refused(f'Cannot add the project "{project}" to application default credentials')
    adc.write_text(json.dumps({**content, "quota_project_id": project}), encoding="utf-8")
    return f'Quota project "{project}" was added to ADC.\n'


def credentials(words: list[str], flags: dict[str, str]) -> str:
    """Which credentials this call runs with (gcloud 528's order), or Refused."""
    if words[:2] == ["auth", "application-default"]:
        return "adc"
    if words[:1] == ["auth"]:
        return "login" if words[1:2] == ["print-access-token"] else "none needed"
    token_file = flags.get("access-token-file") or os.environ.get("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE")
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise Refused(f"Unable to read file [{token_file}]: {error}") from error
        return {ADC_TOKEN: "adc", LOGIN_TOKEN: "login"}.get(token, "unknown token")
    if os.environ.get("FAKE_GCLOUD_ACCOUNT"):
        return "login"
    raise Refused(
        "You do not currently have an active account selected. Please run:\n\n  $ gcloud auth login"
    )


def _run_service(words: list[str], flags: dict[str, str]) -> str:
    """The SERVICE of `gcloud run services VERB SERVICE`, checked as gcloud 528 does."""
    if len(words) < 4:
        raise Refused("argument SERVICE: Must be specified.")
    name = words[3]
    if not SERVICE_NAME.match(name):
        raise Refused(
            f"Invalid resource name [{name}]. The name must use only lowercase alphanumeric "
            "characters and dashes, cannot begin or end with a dash, and cannot be longer "
            "than 63 characters."
        )
    if not flags.get("region") and not os.environ.get("CLOUDSDK_RUN_REGION"):
        raise Refused(
            "You must specify a region. Either use the `--region` flag or set the run/region "
            "property."
        )
    return name


def gcloud(state: dict[str, Any], argv: list[str], stdin: str) -> tuple[bool, str]:
    """(changed, stdout) of one gcloud call."""
    words, flags = _split(argv)
    command = " ".join(words[:3])
    project = flags.get("project", "")
    if words[:3] == ["auth", "application-default", "print-access-token"]:
        if not _adc_present():
            raise Refused(
                "Your default credentials were not found. To set up Application Default "
                "Credentials, see https://cloud.google.com/docs/authentication/external/set-up-adc"
                " for more information."
            )
        return False, ADC_TOKEN + "\n"
    if words[:2] == ["auth", "print-access-token"]:
        if not os.environ.get("FAKE_GCLOUD_ACCOUNT"):
            raise Refused("You do not currently have an active account selected.")
        return False, LOGIN_TOKEN + "\n"
    if words[:3] == ["auth", "application-default", "set-quota-project"]:
        return False, _set_quota_project(state, words[3])
    if words[:2] == ["auth", "list"]:
        account = os.environ.get("FAKE_GCLOUD_ACCOUNT", "")
        if flags.get("format") != "value(account)":
            raise Refused(f"fake gcloud does not know the format {flags.get('format')!r}")
        return False, (account + "\n" if account else "")
    if words[:2] == ["projects", "describe"]:
        if flags.get("format") == "value(projectId)":
            return False, words[2] + "\n"
        return False, PROJECT_NUMBER + "\n"
    if words[:3] == ["billing", "projects", "describe"]:
        if flags.get("format") != "value(billingEnabled)":
            raise Refused(f"fake gcloud does not know the format {flags.get('format')!r}")
        return False, str(state.get("billing_enabled", True)) + "\n"
    if words[:2] == ["org-policies", "describe"]:
        return False, _effective_policy(state, words, flags)
    if words[:2] == ["storage", "buckets"]:
        return _bucket(state, words, flags)
    if words[:2] == ["services", "enable"]:
        return any([_set(state, "apis", api, True) for api in words[2:]]), ""
    if words[:2] == ["firestore", "databases"]:
        key = f"{project}/{flags.get('database', '(default)')}"
        if words[2] == "describe":
            _exists(state, "databases", key)
            return False, ""
        if words[2] == "create":
            return _new(state, "databases", key, sorted(flags)), ""
    if words[:2] == ["iam", "service-accounts"]:
        if words[2] == "describe":
            _exists(state, "accounts", words[3])
            return False, ""
        if words[2] == "create":
            return _new(state, "accounts", f"{words[3]}@{project}.iam.gserviceaccount.com"), ""
    if words[:2] == ["secrets", "versions"]:
        secret = flags.get("secret") or words[3]
        versions = state.setdefault("secret_versions", {}).get(f"{project}/{secret}", [])
        if words[2] == "describe":
            if not words[3].isdigit() or int(words[3]) > len(versions):
                raise Refused(f"NOT_FOUND: version {words[3]} of {secret}")
            return False, ""
        if words[2] == "list":
            return False, "".join(f"{n}\n" for n in range(len(versions), 0, -1))
        if words[2] == "disable":
            if not words[3].isdigit() or int(words[3]) > len(versions):
                raise Refused(f"NOT_FOUND: version {words[3]} of {secret}")
            versions[int(words[3]) - 1] = "disabled"
            return True, ""
        if words[2] == "add":
            _exists(state, "secrets", f"{project}/{secret}")
            if len(stdin) < 32:
                raise Refused("INVALID_ARGUMENT: a pepper of at least 32 characters")
            state["secret_versions"][f"{project}/{secret}"] = [*versions, "enabled"]
            return True, ""
    if words[:1] == ["secrets"] and len(words) >= 3:
        key = f"{project}/{words[2]}"
        if words[1] == "describe":
            _exists(state, "secrets", key)
            return False, ""
        if words[1] == "create":
            if "data-file" in flags:
                raise Refused("deploy.sh adds versions explicitly")
            state.setdefault("secret_versions", {})[key] = []
            return _new(state, "secrets", key, flags.get("labels", "")), ""
        if words[1] == "add-iam-policy-binding":
            binding = f"secret {key} {flags['member']} {flags['role']}"
            return _set(state, "bindings", binding, True), ""
    if words[:2] == ["artifacts", "repositories"]:
        key = f"{project}/{flags.get('location')}/{words[3]}"
        if words[2] == "describe":
            _exists(state, "repositories", key)
            return False, ""
        if words[2] == "create":
            return _new(state, "repositories", key, flags.get("labels", "")), ""
        if words[2] == "set-cleanup-policies":
            _exists(state, "repositories", key)
            policy = json.loads(Path(flags["policy"]).read_text(encoding="utf-8"))
            return _set(state, "cleanup_policies", key, policy), ""
        if words[2] == "add-iam-policy-binding":
            binding = f"repository {key} {flags['member']} {flags['role']}"
            return _set(state, "bindings", binding, True), ""
    if words[:2] == ["projects", "add-iam-policy-binding"]:
        binding = f"project {words[2]} {flags['member']} {flags['role']} {flags['condition']}"
        return _set(state, "bindings", binding, True), ""
    if words[:2] == ["functions", "describe"]:
        function = state.get("functions", {}).get(f"{project}/{words[2]}")
        if function is None:
            raise Refused(f"NOT_FOUND: function {words[2]}")
        return False, _describe_function(words[2], function, flags.get("format", ""))
    if words[:2] == ["functions", "deploy"]:
        key = f"{project}/{words[2]}"
        state.setdefault("functions", {})[key] = flags
        deploys = state.setdefault("deploys", {})
        deploys[key] = deploys.get(key, 0) + 1
        if "allow-unauthenticated" in flags:
            _set(state, "bindings", f"run {key} allUsers roles/run.invoker", True)
        return True, ""
    if words[:2] == ["functions", "add-invoker-policy-binding"]:
        # Adding a member the policy has changes nothing (an IAM policy holds each once).
        key = f"{project}/{words[2]}"
        _exists(state, "functions", key)
        return _set(state, "bindings", f"run {key} {flags['member']} roles/run.invoker", True), ""
    if words[:2] == ["functions", "remove-invoker-policy-binding"]:
        key = f"{project}/{words[2]}"
        binding = f"run {key} {flags['member']} roles/run.invoker"
        if binding not in state.get("bindings", {}):
            raise Refused(f"NOT_FOUND: policy binding {flags['member']} roles/run.invoker")
        del state["bindings"][binding]
        return True, ""
    if words[:2] == ["run", "services"]:
        key = f"{project}/{_run_service(words, flags)}"
        if key not in state.get("functions", {}):
            raise Refused(f"NOT_FOUND: service {key}")
        if words[2] == "describe":
            return False, ("True\n" if state.get("invoker_check_off", {}).get(key) else "\n")
        if words[2] == "update":
            if "no-invoker-iam-check" not in flags and "invoker-iam-check" not in flags:
                raise Refused("fake gcloud knows only the invoker check of run services update")
            off = "no-invoker-iam-check" in flags
            return _set(state, "invoker_check_off", key, off), ""
        if words[2] == "get-iam-policy":
            if (flags.get("flatten"), flags.get("filter"), flags.get("format")) != INVOKER_QUERY:
                raise Refused(f"fake gcloud does not know this policy query: {flags}")
            prefix = f"run {key} "
            members = [
                b[len(prefix) :].removesuffix(" roles/run.invoker")
                for b in sorted(state.get("bindings", {}))
                if b.startswith(prefix) and b.endswith(" roles/run.invoker")
            ]
            return False, "".join(f"{m}\n" for m in members)
    if words[:2] == ["scheduler", "jobs"]:
        return _scheduler_job(state, words, flags, project)
    if words[:2] == ["logging", "metrics"]:
        key = f"{project}/{words[3]}"
        if words[2] == "describe":
            _exists(state, "log_metrics", key)
            return False, ""
        if words[2] == "create":
            return _new(state, "log_metrics", key, flags.get("log-filter", "")), ""
    if words[:3] == ["alpha", "monitoring", "policies"]:
        if words[3] == "list":
            wanted = flags.get("filter", "").partition("=")[2].strip('"')
            found = f"{project}/{wanted}" in state.get("alert_policies", {})
            return False, (f"projects/{project}/alertPolicies/1\n" if found else "")
        if words[3] == "create":
            policy = json.loads(Path(flags["policy-from-file"]).read_text(encoding="utf-8"))
            return _new(state, "alert_policies", f"{project}/{policy['displayName']}", policy), ""
    raise Refused(f"fake gcloud does not know: gcloud {command} ...")


RULES_API = "https://firebaserules.googleapis.com/v1/"
RESOURCE_MANAGER_API = "https://cloudresourcemanager.googleapis.com/v1/projects/"
TOKENINFO_API = "https://oauth2.googleapis.com/tokeninfo"


def curl_credentials(argv: list[str], stdin: str = "") -> str:
    """Which token a curl call carries (a header, or tokeninfo's question on stdin): gcloud's
    login, ADC, or none."""
    for i, arg in enumerate(argv[:-1]):
        if arg == "-H" and argv[i + 1].startswith("Authorization: Bearer "):
            token = argv[i + 1].removeprefix("Authorization: Bearer ")
            return {ADC_TOKEN: "adc", LOGIN_TOKEN: "login"}.get(token, "unknown token")
    if TOKENINFO_API in argv and "access_token@-" in argv:
        return {ADC_TOKEN: "adc", LOGIN_TOKEN: "login"}.get(stdin, "unknown token")
    return "none"


def _tokeninfo(state: dict[str, Any], argv: list[str], stdin: str) -> str:
    """GET oauth2.googleapis.com/tokeninfo?access_token=T: whose token T is. `email` only when
    the state gives the ADC account one (state["adc_email"]: a token with the email scope);
    an unknown token is refused (the real endpoint's 400, which `curl -f` turns into exit 22)."""
    if argv[argv.index("--data-urlencode") + 1] != "access_token@-" or "-G" not in argv:
        raise Refused("fake curl knows tokeninfo asked as -G --data-urlencode access_token@-")
    answer: dict[str, Any] = {"azp": "764086051850.apps.googleusercontent.com", "expires_in": 3599}
    if stdin == LOGIN_TOKEN:
        answer["email"] = os.environ.get("FAKE_GCLOUD_ACCOUNT", "")
    elif stdin == ADC_TOKEN:
        if state.get("adc_email"):
            answer["email"] = state["adc_email"]
    else:
        raise Refused('400 {"error": "invalid_token"}')
    return json.dumps(answer)


def _test_iam_permissions(state: dict[str, Any], argv: list[str], url: str) -> str:
    """POST .../v1/projects/P:testIamPermissions: the asked permissions the caller holds."""
    if curl_credentials(argv) not in ("adc", "login"):
        raise Refused("401 UNAUTHENTICATED")
    billed = [a for a in argv if a.lower().startswith("x-goog-user-project: ")]
    if billed and "serviceusage.services.use" in state.get("permissions_lacking", []):
        raise Refused("403 USER_PROJECT_DENIED")
    asked = json.loads(argv[argv.index("--data") + 1])["permissions"]
    lacking = set(state.get("permissions_lacking", []))
    return json.dumps({"permissions": [p for p in asked if p not in lacking]})


def curl(state: dict[str, Any], argv: list[str], stdin: str) -> tuple[bool, str]:
    """(changed, stdout) of one Firebase Rules API, testIamPermissions or tokeninfo call."""
    if TOKENINFO_API in argv:
        return False, _tokeninfo(state, argv, stdin)
    iam_url = next((a for a in argv if a.startswith(RESOURCE_MANAGER_API)), "")
    if iam_url.endswith(":testIamPermissions") and "POST" in argv:
        return False, _test_iam_permissions(state, argv, iam_url)
    method, url, data = "GET", "", ""
    for i, arg in enumerate(argv):
        if arg == "-X":
            method = argv[i + 1]
        elif arg in ("--data", "--data-binary"):
            data = stdin if argv[i + 1] == "@-" else argv[i + 1]
        elif arg.startswith(RULES_API):
            url = arg[len(RULES_API) :]
    project = url.split("/")[1]
    rulesets = state.setdefault("rulesets", {})
    releases = state.setdefault("releases", {})
    if method == "GET" and "/releases/" in url:
        release = url.split("/releases/", 1)[1]
        if release not in releases:
            return False, json.dumps({"error": {"code": 404, "status": "NOT_FOUND"}})
        return False, json.dumps({"name": url, "rulesetName": releases[release]})
    if method == "GET" and "/rulesets/" in url:
        content = rulesets[url]
        return False, json.dumps({"name": url, "source": {"files": [{"content": content}]}})
    if method == "POST" and url.endswith("/rulesets"):
        name = f"projects/{project}/rulesets/r{len(rulesets) + 1}"
        rulesets[name] = json.loads(data)["source"]["files"][0]["content"]
        return True, json.dumps({"name": name})
    if method == "POST" and url.endswith("/releases"):
        body = json.loads(data)
        release = body["name"].split("/releases/", 1)[1]
        if release in releases:
            raise Refused("ALREADY_EXISTS: release")
        releases[release] = body["rulesetName"]
        return True, "{}"
    if method == "PATCH" and "/releases/" in url:
        body = json.loads(data)["release"]
        return _set(state, "releases", url.split("/releases/", 1)[1], body["rulesetName"]), "{}"
    raise Refused(f"fake curl does not know: {method} {url}")


def main() -> int:
    tool, argv = sys.argv[1], sys.argv[2:]
    state_file = Path(os.environ["FAKE_GCLOUD_STATE"])
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else {}
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    used = ""
    try:
        used = credentials(*_split(argv)) if tool == "gcloud" else curl_credentials(argv, stdin)
        changed, out = (gcloud if tool == "gcloud" else curl)(state, argv, stdin)
        status = 0
    except Refused as refusal:
        changed, out, status = False, "", 1
        print(f"ERROR: (gcloud) {refusal}", file=sys.stderr)
    state_file.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    with open(os.environ["FAKE_GCLOUD_LOG"], "a", encoding="utf-8") as log:
        record = {"tool": tool, "argv": argv, "changed": changed, "status": status}
        log.write(json.dumps({**record, "credentials": used}))
        log.write("\n")
    sys.stdout.write(out)
    return status


if __name__ == "__main__":
    sys.exit(main())
