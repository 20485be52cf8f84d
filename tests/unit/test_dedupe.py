"""The duplicate finder (`app.domain.dedupe`), pure: records in, scored pairs with readable reasons out."""

from __future__ import annotations

import time

import pytest

from app.domain.dedupe import Match, Record, company_key, duplicates_of, email_key, find_duplicates, phone_key


def pairs(matches: list[Match]) -> set[tuple[int, int]]:
    return {(m.a, m.b) for m in matches}


def kinds(match: Match) -> set[str]:
    return {r.kind for r in match.reasons}


def only(matches: list[Match]) -> Match:
    assert len(matches) == 1, matches
    return matches[0]


# keys


@pytest.mark.parametrize(
    "address",
    ["Ana.Lindqvist@Example.SE", "ana.lindqvist+shop@example.se", " ANA.LINDQVIST+News@example.se "],
)
def test_an_email_is_the_same_up_to_case_and_plus_addressing(address: str) -> None:
    assert email_key(address) == "ana.lindqvist@example.se"


def test_gmail_ignores_dots_and_googlemail_is_gmail() -> None:
    assert email_key("ana.lind.qvist@gmail.com") == email_key("AnaLindqvist+x@googlemail.com")
    assert email_key("ana.lindqvist@example.se") != email_key("analindqvist@example.se")  # not at Gmail


@pytest.mark.parametrize(
    "number", ["+46 70-123 45 67", "0046701234567", "+46 (0)70 123 45 67", "+46701234567"]
)
def test_a_phone_written_with_its_country_code_any_way_is_one_number(number: str) -> None:
    assert phone_key(number) == "+46701234567"


def test_a_national_phone_needs_the_region() -> None:
    assert phone_key("070-123 45 67", "SE") == "+46701234567"
    assert phone_key("070-123 45 67") == "0701234567"  # unparsable without a region: its digits


def test_a_company_is_the_same_without_its_legal_form() -> None:
    assert company_key("Nordlogistik AB") == company_key("NORDLOGISTIK") == "nordlogistik"
    assert company_key("Iberdata S.A.") == company_key("Iberdata SA")


# pairs


def test_phones_in_other_formats_are_one_customer() -> None:
    records = [
        Record(1, "Ana Lindqvist", phones=("+46 70-123 45 67",)),
        Record(2, "Ana Lindqvist", phones=("0046701234567",)),
        Record(3, "", phones=("070-123 45 67",)),
    ]
    assert pairs(find_duplicates(records, region="SE")) == {(1, 2), (1, 3), (2, 3)}
    for m in find_duplicates(records, region="SE"):
        assert "phone" in kinds(m)


def test_a_national_phone_without_region_meets_the_number_with_its_country_code_as_weaker_evidence() -> None:
    full = only(
        find_duplicates([Record(1, phones=("+46701234567",)), Record(2, phones=("+46 70 123 45 67",))])
    )
    national = only(
        find_duplicates([Record(1, phones=("+46701234567",)), Record(2, phones=("070-123 45 67",))])
    )
    assert (national.a, national.b) == (1, 2)
    assert 0 < national.score < full.score
    assert "without its country code" in national.reasons[0].detail


def test_an_email_with_case_plus_and_gmail_dots_is_one_customer() -> None:
    records = [
        Record(1, "Ana Lindqvist", emails=("ana.lindqvist@gmail.com",)),
        Record(2, "", emails=("AnaLindqvist+shop@GoogleMail.com",)),
    ]
    m = only(find_duplicates(records))
    assert kinds(m) == {"email"}
    assert m.score >= 0.9


def test_swapped_names_at_a_shared_company_are_one_customer() -> None:
    records = [Record(1, "Ana Lindqvist", "Nordlogistik AB"), Record(2, "Lindqvist, Ana", "NORDLOGISTIK")]
    m = only(find_duplicates(records))
    assert kinds(m) == {"name"}
    assert "the same name written another way" in m.reasons[0].detail


def test_swapped_names_with_the_same_email_in_other_case_score_high() -> None:
    records = [
        Record(1, "Ana Lindqvist", emails=("ana.lindqvist@example.se",)),
        Record(2, "Lindqvist Ana", emails=("Ana.Lindqvist+news@Example.se",)),
    ]
    m = only(find_duplicates(records))
    assert kinds(m) == {"email", "name"}
    assert m.score > 0.95


@pytest.mark.parametrize("typo", ["Ana Lindqvsit", "Anna Lindqvist", "Ana Lindqist", "Ana Lindqvost"])
def test_a_name_one_typing_error_away_at_a_shared_company_is_one_customer(typo: str) -> None:
    m = only(
        find_duplicates([Record(1, "Ana Lindqvist", "Nordlogistik AB"), Record(2, typo, "Nordlogistik")])
    )
    assert kinds(m) == {"name"}
    assert "one typing error apart" in m.reasons[0].detail


def test_a_name_with_a_middle_name_or_second_surname_at_a_shared_company_is_one_customer() -> None:
    records = [Record(1, "María García López", "Iberdata SA"), Record(2, "María García", "Iberdata SA")]
    assert pairs(find_duplicates(records)) == {(1, 2)}


def test_accents_do_not_matter_next_to_a_shared_phone() -> None:
    m = only(
        find_duplicates(
            [
                Record(1, "Åsa Öberg", phones=("+46701234567",)),
                Record(2, "Asa Oberg", phones=("+46 70 123 45 67",)),
            ]
        )
    )
    assert kinds(m) == {"phone", "name"}


def test_the_same_name_at_different_companies_is_not_a_match() -> None:
    records = [
        Record(1, "Anna Andersson", "Nordlogistik AB", emails=("anna@nordlogistik.se",)),
        Record(2, "Anna Andersson", "Svea Bygg AB", emails=("anna.andersson@sveabygg.se",)),
        Record(3, "Anna Andersson"),
    ]
    assert find_duplicates(records) == []


def test_a_similar_name_alone_is_not_a_match() -> None:
    records = [
        Record(1, "Ana Lindqvist", emails=("ana@example.se",)),
        Record(2, "Ana Lindqvst", phones=("+46701234567",)),
    ]
    assert find_duplicates(records) == []


def test_colleagues_with_other_names_are_not_a_match_even_on_the_switchboard_number() -> None:
    records = [
        Record(1, "Ana Lindqvist", "Nordlogistik AB", phones=("+46812345678",)),
        Record(2, "Erik Svensson", "Nordlogistik AB", phones=("+46 8 123 456 78",)),
    ]
    assert find_duplicates(records) == []


def test_a_household_sharing_a_landline_is_not_a_match() -> None:
    # a shared phone is no evidence when both records name clearly different people
    records = [
        Record(1, "Anna Berg", emails=("anna.berg@example.se",), phones=("+46812345678",)),
        Record(2, "Erik Berg", emails=("erik@example.se",), phones=("08-123 456 78",)),
        Record(3, "Peter Schulz", phones=("+49 30 369127",)),
        Record(4, "Dieter Schulz", phones=("+4930369127",)),
    ]
    assert find_duplicates(records, region="SE") == []


@pytest.mark.parametrize("other", ["Anna Berg", "A. Berg", "Berg", "", "Anna Bergh"])
def test_a_shared_phone_counts_when_the_names_may_be_one_persons(other: str) -> None:
    m = only(
        find_duplicates(
            [Record(1, "Anna Berg", phones=("+46812345678",)), Record(2, other, phones=("+46812345678",))]
        )
    )
    assert "phone" in kinds(m)


def test_a_shared_email_counts_whatever_the_names() -> None:
    m = only(
        find_duplicates(
            [
                Record(1, "Anna Berg", emails=("x@example.se",)),
                Record(2, "Erik Berg", emails=("X@example.se",)),
            ]
        )
    )
    assert kinds(m) == {"email"}


def test_reasons_are_readable_and_name_what_was_written() -> None:
    records = [
        Record(1, "Ana Lindqvist", "Nordlogistik AB", ("ana.lindqvist@gmail.com",), ("+46 70-123 45 67",)),
        Record(2, "Lindqvist, Ana", "Nordlogistik", ("Ana.Lindqvist+shop@gmail.com",), ("0046701234567",)),
    ]
    m = only(find_duplicates(records))
    assert (m.a, m.b) == (1, 2)
    assert 0.99 <= m.score <= 1.0
    by_kind = {r.kind: r.detail for r in m.reasons}
    assert set(by_kind) == {"email", "phone", "name"}
    assert (
        "ana.lindqvist@gmail.com" in by_kind["email"] and "Ana.Lindqvist+shop@gmail.com" in by_kind["email"]
    )
    assert "+46 70-123 45 67" in by_kind["phone"] and "0046701234567" in by_kind["phone"]
    assert "Ana Lindqvist" in by_kind["name"] and "Lindqvist, Ana" in by_kind["name"]
    assert "Nordlogistik AB" in by_kind["name"]
    assert all(r.as_dict() == {"kind": r.kind, "detail": r.detail} for r in m.reasons)


def test_matches_come_best_first_with_the_smaller_id_first() -> None:
    records = [
        Record(9, "Ana Lindqvist", "Nordlogistik AB"),
        Record(4, "Ana Lindqvst", "Nordlogistik AB"),
        Record(7, "Erik Svensson", emails=("erik@example.se",)),
        Record(3, "Erik Svensson", emails=("Erik@Example.se",)),
    ]
    found = find_duplicates(records)
    assert [(m.a, m.b) for m in found] == [(3, 7), (4, 9)]
    assert found[0].score > found[1].score


def test_duplicates_of_one_customer_excludes_itself() -> None:
    me = Record(1, "Ana Lindqvist", "Nordlogistik AB", ("ana@example.se",), ("+46701234567",))
    others = [
        me,
        Record(2, "Ana Lindqvist", emails=("ANA@example.se",)),
        Record(3, "Ana Lindqvsit", "Nordlogistik"),
        Record(4, "Erik Svensson", "Nordlogistik AB"),
    ]
    found = duplicates_of(me, others)
    assert pairs(found) == {(1, 2), (1, 3)}
    assert found[0].b == 2  # the email weighs more than a name at the company


def big_company(people: int, company: str = "Megacorp AB") -> list[Record]:
    first = ("Anna", "Eva", "Maria", "Karin", "Sara")
    last = (
        "Andersson",
        "Johansson",
        "Karlsson",
        "Nilsson",
        "Eriksson",
        "Larsson",
        "Olsson",
        "Persson",
        "Svensson",
        "Gustafsson",
        "Berg",
        "Borg",
        "Lindberg",
        "Lindström",
        "Lindqvist",
        "Lindgren",
        "Lund",
        "Holm",
        "Ström",
        "Sjöberg",
        "Forsberg",
        "Nyström",
        "Ekström",
        "Wallin",
    )
    # five first names: 120 names, each again every 120 people (Anna Berg and Anna Borg among them)
    return [
        Record(i + 1, f"{first[i % 5]} {last[(i // 5) % len(last)]}", company, (f"p{i}@x.se",))
        for i in range(people)
    ]


def test_at_a_big_company_the_same_or_a_nearly_alike_name_alone_is_not_a_match() -> None:
    # 250 people: the same names twice or more, Berg next to Borg: no pair is evidence
    records = big_company(250)
    assert {"Anna Berg", "Anna Borg"} <= {r.name for r in records}
    assert len({r.name for r in records}) == 120
    assert find_duplicates(records) == []
    # at a small one the same name is
    assert pairs(
        find_duplicates([Record(1, "Anna Berg", "Småföretaget AB"), Record(2, "Anna Berg", "Småföretaget")])
    ) == {(1, 2)}


def test_a_big_company_finishes_quickly_and_still_finds_a_misspelt_name() -> None:
    records = big_company(2000)
    records += [
        Record(5001, "Margareta Söderholm", "Megacorp AB", ("mso@x.se",)),
        Record(5002, "Margareta Söderhlom", "MEGACORP", ()),
    ]
    started = time.perf_counter()
    found = find_duplicates(records)
    assert time.perf_counter() - started < 5.0
    assert pairs(found) == {(5001, 5002)}
    assert "one typing error apart" in found[0].reasons[0].detail
