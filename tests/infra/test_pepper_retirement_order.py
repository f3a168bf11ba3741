"""The Terraform path of a pepper retirement keeps every live key working: in the one apply that
drops a generation, the live-key check runs before the function stops reading it (and any
failure stops the apply), the version is disabled only after, and no later apply re-enables it.
"""

from __future__ import annotations

from tests.infra.terraform_files import terraform_resources


def _depends_on(body: dict[str, object]) -> set[str]:
    return {str(d).removeprefix("${").removesuffix("}") for d in body.get("depends_on", [])}  # type: ignore[attr-defined]


def test_the_live_key_check_comes_before_the_function_and_the_disabling_after() -> None:
    resources = terraform_resources()
    check = resources[("terraform_data", "pepper_live_key_check")]
    disable = resources[("terraform_data", "pepper_disabled")]
    function = resources[("google_cloudfunctions2_function", "main")]

    assert "terraform_data.pepper_live_key_check" in _depends_on(function)
    assert "google_cloudfunctions2_function.main" in _depends_on(disable)
    (checking,) = check["provisioner"]
    (disabling,) = disable["provisioner"]
    assert (
        "retire_pepper.sh ${each.value.version} --check-only" in checking["local-exec"]["command"]
    )
    assert "--check-only" not in disabling["local-exec"]["command"]
    for step in (check, disable):
        assert step["for_each"] == "${local.retired_pepper}"
        (provisioner,) = step["provisioner"]
        assert provisioner["local-exec"]["environment"] == "${local.retire_pepper_environment}"


def test_a_disabled_version_stays_disabled_across_applies() -> None:
    version = terraform_resources()[("google_secret_manager_secret_version", "pepper")]

    ignored = version["lifecycle"][0]["ignore_changes"]
    assert [i.removeprefix("${").removesuffix("}") for i in ignored] == ["enabled"]
    assert version["deletion_policy"] == "ABANDON"
