"""The safety gate's rule files: every example makes its rule match and no counter-example does,
through the real gate (quote stripping, folding, canonical clauses, `unless`), and a broken
rule file stops the gate at import with a message naming the file and the rule."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from autosend import gate
from autosend.gate import CODE_RULES, RULES, RULES_DIR, Category, RuleFileError, load_rules


def _cases(kind: str) -> list[Any]:
    return [
        pytest.param(rule.name, text, id=f"{rule.name}: {text[:60]}")
        for rule in RULES
        for text in getattr(rule, kind)
    ]


@pytest.mark.parametrize(("rule_name", "text"), _cases("examples"))
def test_every_example_makes_its_rule_block_the_message(rule_name, text):
    result = gate.hard_block_check(text=text)
    assert result.blocked
    assert rule_name in result.rules, result


@pytest.mark.parametrize(("rule_name", "text"), _cases("counter_examples"))
def test_no_counter_example_makes_its_rule_match(rule_name, text):
    assert rule_name not in gate.hard_block_check(text=text).rules


def test_the_rule_files_next_to_the_module_cover_every_category():
    assert Path(gate.__file__).parent / "rules" == RULES_DIR
    assert {r.category for r in RULES} == set(Category)
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert not {r.name for r in CODE_RULES} & set(names)
    # Categories come in priority order, so the rule names a decision records keep their order.
    order = [gate.PRIORITY.index(r.category) for r in RULES]
    assert order == sorted(order)


# --- A broken rule file fails loudly ---------------------------------------------------------


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A copy of the real rule files, to break one of them."""
    return Path(shutil.copytree(RULES_DIR, tmp_path / "rules"))


def _append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def test_the_copied_files_load_the_same_rules(rules_dir):
    loaded = load_rules(rules_dir)
    assert [(r.name, r.pattern.pattern) for r in loaded] == [
        (r.name, r.pattern.pattern) for r in RULES
    ]


def test_a_new_rule_with_a_fragment_and_a_template_is_loaded(rules_dir):
    _append(
        rules_dir / "opt_out.toml",
        "\n[[rule]]\n"
        'name = "opt_out_go_away"\n'
        "patterns = [{ clause = 'go away' }, '\\bgo away and (?:stop )?{REACH_ING}\\b']\n"
        'examples = ["go away please"]\n',
    )
    rule = next(r for r in load_rules(rules_dir) if r.name == "opt_out_go_away")
    assert rule.category == Category.OPT_OUT
    assert rule.pattern.search("go away please")
    assert rule.pattern.search("ok | go away and stop texting me")
    assert not rule.pattern.search("the storm should go away by friday")


@pytest.mark.parametrize(
    ("rule_toml", "message"),
    [
        (
            "name = 'opt_out_broken'\npatterns = ['\\bstop (?:texting']\nexamples = ['stop']\n",
            "opt_out.toml: rule 15 (opt_out_broken): bad pattern in `patterns`",
        ),
        (
            "name = 'opt_out_broken'\npatterns = ['\\bstop {NOT_A_FRAGMENT}']\nexamples = ['x']\n",
            "opt_out.toml: rule 15 (opt_out_broken): unknown fragment {NOT_A_FRAGMENT}",
        ),
        (
            "name = 'opt_out_keyword'\npatterns = ['\\bgo away\\b']\nexamples = ['go away']\n",
            "opt_out.toml: rule opt_out_keyword is already defined in opt_out.toml",
        ),
        (
            "name = 'injection_markup'\npatterns = ['\\bgo away\\b']\nexamples = ['go away']\n",
            "opt_out.toml: rule injection_markup is already defined in autosend/gate.py",
        ),
        (
            "name = 'opt_out_broken'\npatterns = ['\\bgo away\\b']\n",
            "opt_out.toml: rule 15 (opt_out_broken): `examples` must be a list of strings",
        ),
        (
            "name = 'opt_out_broken'\npatterns = ['\\bgo\\b']\nexamples = ['go']\n"
            "counterexamples = ['went']\n",
            "opt_out.toml: rule 15: unknown key(s) counterexamples",
        ),
    ],
    ids=["bad pattern", "unknown fragment", "duplicate name", "name of a code rule",
         "no examples", "misspelt key"],
)  # fmt: skip
def test_a_broken_rule_names_the_file_and_the_rule(rules_dir, rule_toml, message):
    _append(rules_dir / "opt_out.toml", "\n[[rule]]\n" + rule_toml)
    with pytest.raises(RuleFileError) as caught:
        load_rules(rules_dir, reserved=[r.name for r in CODE_RULES])
    assert message in str(caught.value)


def test_a_duplicate_name_across_files_names_both_files(rules_dir):
    _append(
        rules_dir / "wrong_person.toml",
        "\n[[rule]]\nname = 'opt_out_keyword'\npatterns = ['x']\nexamples = ['x']\n",
    )
    with pytest.raises(RuleFileError, match=r"wrong_person\.toml: rule opt_out_keyword is already"
                       r" defined in opt_out\.toml"):  # fmt: skip
        load_rules(rules_dir)


def test_a_missing_or_unknown_category_file_stops_the_load(rules_dir):
    (rules_dir / "threat.toml").rename(rules_dir / "threats.toml")
    with pytest.raises(RuleFileError, match="no category named threats"):
        load_rules(rules_dir)
    (rules_dir / "threats.toml").unlink()
    with pytest.raises(RuleFileError, match="no rule file for threat"):
        load_rules(rules_dir)


def test_a_fragment_may_not_use_another_fragment(rules_dir):
    fragments = rules_dir / "_fragments.toml"
    text = fragments.read_text().replace("[fragments]\n", "[fragments]\nBAD = '{ME} again'\n")
    fragments.write_text(text)
    with pytest.raises(
        RuleFileError, match=r"_fragments\.toml: fragment BAD uses another fragment"
    ):
        load_rules(rules_dir)


def test_invalid_toml_names_the_file(rules_dir):
    _append(rules_dir / "complaint.toml", "\n[[rule]\n")
    with pytest.raises(RuleFileError, match=r"complaint\.toml: not valid TOML"):
        load_rules(rules_dir)
