"""scripts/check_python.py judges pip's reports correctly, and requirements.txt selects one
pin of every package on every Python the README promises (no pip, no index)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_python", ROOT / "scripts/check_python.py")
check_python = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_python)


def write(tmp_path, text):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return check_python.read_pins(path)


def item(name, version, requires_python=None, requires_dist=(), url=None):
    return {
        "metadata": {
            "name": name,
            "version": version,
            "requires_python": requires_python,
            "requires_dist": list(requires_dist),
        },
        "download_info": {"url": url or f"file:///w/{name}-{version}-py3-none-any.whl"},
    }


def test_markers_pick_one_pin_per_python(tmp_path):
    pins = write(
        tmp_path,
        "# comment\n"
        'soupsieve==4.1.2; python_full_version >= "3.11.5"\n'
        'soupsieve==2.10; python_full_version < "3.11.5"  # Debian 12\n'
        'tomli==2.3.0; python_version < "3.11"\n',
    )
    chosen = {
        v: check_python.pins_for(pins, check_python.target_env(v)) for v in check_python.PROMISED
    }
    assert chosen["3.11.2"] == {"soupsieve": "2.10"}
    assert chosen["3.12.0"] == {"soupsieve": "4.1.2"}
    assert chosen["3.10.12"] == {"soupsieve": "2.10", "tomli": "2.3.0"}


def test_overlapping_markers_are_refused(tmp_path):
    pins = write(tmp_path, 'a==1; python_version >= "3.10"\na==2; python_version < "3.12"\n')
    with pytest.raises(ValueError, match="two pins of a"):
        check_python.pins_for(pins, check_python.target_env("3.11.2"))


def test_only_exact_pins(tmp_path):
    with pytest.raises(ValueError, match="not an exact pin"):
        write(tmp_path, "a>=1\n")


def test_report_problems_are_named():
    env = check_python.target_env("3.11.2")
    pinned = {"soupsieve": "4.1.2", "beautifulsoup4": "4.15.0", "gone": "1.0"}
    report = {
        "install": [
            item("soupsieve", "4.1.2", requires_python=">=3.11.5"),
            item(
                "beautifulsoup4",
                "4.15.0",
                requires_dist=[
                    "soupsieve>=5",
                    "typing-extensions>=4.0.0",
                    "tomli; python_version < '3.11'",
                    "lxml; extra == 'lxml'",
                ],
            ),
            item("extra-dep", "0.1", url="file:///w/extra-dep-0.1.tar.gz"),
        ]
    }
    problems = check_python.check_report(report, pinned, env)
    assert problems == [
        "soupsieve==4.1.2 needs Python >=3.11.5, not 3.11.2",
        "extra-dep 0.1 is pulled in but not pinned for Python 3.11.2",
        "extra-dep==0.1 has no wheel for Python 3.11.2 (would build file:///w/extra-dep-0.1.tar.gz)",
        "gone==1.0 is pinned but pip did not select it",
        "beautifulsoup4 needs soupsieve>=5: pinned soupsieve==4.1.2",
        "beautifulsoup4 needs typing-extensions>=4.0.0: not pinned for Python 3.11.2",
    ]


def test_clean_report_has_no_problems():
    env = check_python.target_env("3.10.12")
    pinned = {"pytest": "9.2.0", "exceptiongroup": "1.3.2"}
    report = {
        "install": [
            item("pytest", "9.2.0", ">=3.10", ['exceptiongroup>=1; python_version < "3.11"']),
            item("exceptiongroup", "1.3.2", ">=3.7"),
        ]
    }
    assert check_python.check_report(report, pinned, env) == []


@pytest.mark.parametrize("version", sorted(check_python.PROMISED))
def test_requirements_txt_pins_every_package_once(version):
    pins = check_python.read_pins(ROOT / "requirements.txt")
    chosen = check_python.pins_for(pins, check_python.target_env(version))
    names = {check_python.canonicalize_name(req.name) for req, _text in pins}
    backports = {"tomli", "async-timeout", "exceptiongroup"}  # for Python 3.10 only
    expected = names if version.startswith("3.10.") else names - backports
    assert set(chosen) == expected
    old = check_python.version_key(version) < (3, 11, 5)
    assert chosen["soupsieve"] == ("2.10" if old else "4.1.2")
