"""Secret values are masked in log lines as Kestra's RunContextLogger masks them, and a namespace reads its own
secrets, then its parents', under the configured prefix."""

from backfill_core.flows.secrets import SecretScope


def test_each_occurrence_becomes_stars_the_first_nine_reading_masked():
    scope = SecretScope("main", "company.team", used={"correct-horse-battery", "pin1"})
    masked = scope.mask("a correct-horse-battery b correct-horse-battery")
    assert masked == "a " + "**masked*" + "*" * 12 + " b " + "*" * 21
    assert scope.mask("code pin1, pin12") == "code ****, ****2"  # shorter than nine: stars only
    assert scope.mask("nothing here") == "nothing here"


def test_a_namespace_reads_its_own_secret_then_its_parents_never_a_childs():
    scope = SecretScope("acme", "company.team.etl")
    assert scope.names("DB") == [
        "kestra-flows/acme/company.team.etl/DB",
        "kestra-flows/acme/company.team/DB",
        "kestra-flows/acme/company/DB",
    ]
