#!/usr/bin/env python3
"""`make check-python`: requirements.txt resolves (and installs) on every Python we promise.

The README promises Odoo 19's range, Python 3.10 to 3.13, and names the systems whose own
Python a newcomer will use. Each promised version is checked one of two ways:

* a real interpreter found on this machine (PATH, /usr/bin, pyenv): pip resolves the file
  with that interpreter (`pip install --dry-run --ignore-installed --report`), and, once per
  requirements.txt and interpreter, installs it into a throwaway venv and runs `pip check`;
* a version with no interpreter here (e.g. Debian 12's 3.11.2 on a machine without it):
  the environment markers are evaluated for that version, and pip looks up every selected pin
  for it (`--python-version X.Y.Z --no-deps`: wheel tags), reusing what an interpreter of the
  same minor version resolved where the pins agree.

Either way the report is then checked the same way: every package pip picks is pinned for
that Python, each pin's Requires-Python admits it, and each pinned package's dependencies
(markers evaluated for that Python) are pinned at a version that satisfies them.

pip runs with the machine's own configuration (index, mirrors, certificates).
Exit status 1, with the reasons, when any promised Python fails.
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
except ImportError:  # any Python with pip can run the check
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
MIN_PY, MAX_PY = (3, 10), (3, 13)  # Odoo 19's odoo/release.py: MIN_PY_VERSION, MAX_PY_VERSION
# The system Pythons of the distributions the README names, and the first release of each
# minor version: checked even when no such interpreter is installed here.
PROMISED = {
    "3.10.0": "Python 3.10",
    "3.10.12": "Ubuntu 22.04",
    "3.11.0": "Python 3.11",
    "3.11.2": "Debian 12",
    "3.12.0": "Python 3.12",
    "3.12.3": "Ubuntu 24.04",
    "3.13.0": "Python 3.13",
    "3.13.5": "Debian 13",
}
# Pure-Python projects published as sources only: pip builds their metadata, no compiler.
SDIST_ONLY = {"docopt", "ofxparse"}
PIP_ENV = {"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def version_key(full):
    return tuple(int(part) for part in full.split("."))


def log(msg):
    print(f"[check-python] {msg}", flush=True)


# ---------------------------------------------------------------- requirements and reports
def read_pins(path):
    """[(Requirement, line)] of the `name==version` lines of a requirements file."""
    pins = []
    for line in Path(path).read_text().splitlines():
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        req = Requirement(text)
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise ValueError(f"{path}: not an exact pin: {line!r}")
        pins.append((req, text))
    return pins


def pins_for(pins, env):
    """{canonical name: version} of the pins whose marker holds in `env`."""
    chosen = {}
    for req, _text in pins:
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        if name in chosen:
            raise ValueError(f"two pins of {req.name} hold for Python {env['python_full_version']}")
        chosen[name] = next(iter(req.specifier)).version
    return chosen


def target_env(full_version, base=None):
    """Marker environment of CPython `full_version` on this platform."""
    env = dict(base or default_environment())
    env.update(
        python_version=".".join(full_version.split(".")[:2]),
        python_full_version=full_version,
        implementation_name="cpython",
        implementation_version=full_version,
        platform_python_implementation="CPython",
    )
    return env


def check_report(report, pinned, env):
    """Problems (strings) of a pip installation report against the pins that hold in `env`."""
    problems = []
    full = env["python_full_version"]
    picked = {}
    for item in report["install"]:
        meta = item["metadata"]
        name, version = canonicalize_name(meta["name"]), meta["version"]
        picked[name] = meta
        if name not in pinned:
            problems.append(
                f"{meta['name']} {version} is pulled in but not pinned for Python {full}"
            )
        elif pinned[name] != version:
            problems.append(f"{meta['name']} resolved to {version}, pinned {pinned[name]}")
        requires_python = meta.get("requires_python")
        if requires_python and full not in SpecifierSet(requires_python):
            problems.append(f"{meta['name']}=={version} needs Python {requires_python}, not {full}")
        url = item.get("download_info", {}).get("url", "")
        if not url.endswith(".whl") and name not in SDIST_ONLY:
            problems.append(
                f"{meta['name']}=={version} has no wheel for Python {full} (would build {url})"
            )
    problems += [
        f"{name}=={version} is pinned but pip did not select it"
        for name, version in pinned.items()
        if name not in picked
    ]
    dep_env = dict(env, extra="")
    for meta in picked.values():
        for text in meta.get("requires_dist") or ():
            dep = Requirement(text)
            if dep.marker is not None and not dep.marker.evaluate(dep_env):
                continue
            dep_name = canonicalize_name(dep.name)
            have = pinned.get(dep_name)
            if have is None:
                problems.append(f"{meta['name']} needs {text}: not pinned for Python {full}")
            elif not dep.specifier.contains(have, prereleases=True):
                problems.append(f"{meta['name']} needs {text}: pinned {dep.name}=={have}")
    return problems


# ---------------------------------------------------------------- interpreters
def probe(python):
    """(full version, real path) of an interpreter, or None."""
    try:
        out = subprocess.run(
            [
                python,
                "-c",
                "import os, sys; print('%d.%d.%d' % sys.version_info[:3]);"
                "print(os.path.realpath(sys.executable))",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    return out[0], out[1]


def find_interpreters(extra):
    """{full version: interpreter} of the CPythons 3.10-3.13 this machine has."""
    names = [f"python3.{minor}" for minor in range(MIN_PY[1], MAX_PY[1] + 1)] + ["python3"]
    candidates = list(extra)
    for directory in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin", "/usr/local/bin"]:
        candidates += [os.path.join(directory, name) for name in names]
    for root in {os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"}:
        versions = Path(root, "versions") if root else None
        with contextlib.suppress(AttributeError, OSError):
            candidates += sorted(str(p / "bin" / "python3") for p in versions.iterdir())
    found, seen = {}, set()
    for python in candidates:
        if not os.access(python, os.X_OK) or "/shims/" in python:
            continue
        info = probe(python)
        if info is None or info[1] in seen:
            continue
        seen.add(info[1])
        version = tuple(int(part) for part in info[0].split("."))
        if MIN_PY <= version[:2] <= MAX_PY:
            found.setdefault(info[0], info[1])
    return found


def pip_command(python, workdir):
    """A pip (>= 22.2, for --report) run by `python`, in a throwaway venv if it has none."""
    check = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    match = re.match(r"pip (\d+)\.(\d+)", check.stdout)
    if match and (int(match[1]), int(match[2])) >= (22, 2):
        return [python, "-m", "pip"]
    venv = Path(workdir, "pip-venv")
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", "pip>=22.2"],
        check=True,
        capture_output=True,
        env=dict(os.environ, **PIP_ENV),
    )
    return [str(venv / "bin/python"), "-m", "pip"]


def run_pip(pip, args, workdir):
    """(report or None, pip's error lines)."""
    report = Path(workdir, "report.json")
    proc = subprocess.run(
        [
            *pip,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, **PIP_ENV),
    )
    errors = [
        line if len(line) < 300 else line[:300] + " …"
        for line in proc.stderr.splitlines()
        if line.startswith("ERROR")
    ]
    if proc.returncode != 0:
        return None, errors or proc.stderr.strip().splitlines()[-5:]
    return json.loads(report.read_text()), []


# ---------------------------------------------------------------- the checks
def resolve_real(python, requirements, pins):
    """pip resolves the file with `python`: ([], note, report) or [problems]."""
    with tempfile.TemporaryDirectory(prefix="sqs-check-python-") as workdir:
        pip = pip_command(python, workdir)
        report, errors = run_pip(pip, ["-r", str(requirements)], workdir)
    if report is None:
        return errors
    env = report["environment"]
    problems = check_report(report, pins_for(pins, env), env)
    if problems:
        return problems
    return [], f"{len(report['install'])} packages resolved by {python}", report


def install_real(full, python, requirements, install, stamp_dir):
    """Installs the file into a throwaway venv of `python`: ([], note) or [problems]."""
    digest = hashlib.sha256(requirements.read_bytes() + python.encode()).hexdigest()
    stamp = Path(stamp_dir, f"{full}-{hashlib.sha256(python.encode()).hexdigest()[:8]}")
    if install == "auto" and stamp.is_file() and stamp.read_text() == digest:
        return [], "installed into a throwaway venv earlier (same requirements.txt)"
    with tempfile.TemporaryDirectory(prefix="sqs-check-python-") as workdir:
        venv = Path(workdir, "venv")
        steps = [
            [python, "-m", "venv", str(venv)],
            [str(venv / "bin/python"), "-m", "pip", "install", "-q", "-r", str(requirements)],
            [str(venv / "bin/python"), "-m", "pip", "check"],
        ]
        for step in steps:
            proc = subprocess.run(
                step, capture_output=True, text=True, check=False, env=dict(os.environ, **PIP_ENV)
            )
            if proc.returncode != 0:
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
                return [f"`{' '.join(step[1:])}` failed:", *tail]
    stamp_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)
    return [], "installed into a throwaway venv, pip check clean"


def check_emulated(full, requirements, pins, pip, base):
    """A promised version with no interpreter here.

    `base` is the report of a real interpreter of the same minor version, when there is one:
    its distributions are reused for the pins that also hold for `full` (same wheel tags),
    and pip looks up only the others. Without one, pip looks up every pin.
    """
    env = target_env(full, base["environment"] if base else None)
    pinned = pins_for(pins, env)
    items, lookup = [], dict(pinned)
    for item in base["install"] if base else ():
        name = canonicalize_name(item["metadata"]["name"])
        if lookup.get(name) == item["metadata"]["version"]:
            items.append(item)
            del lookup[name]
    source = f"pins of {base['environment']['python_full_version']}" if base else "pip"
    if lookup:
        with tempfile.TemporaryDirectory(prefix="sqs-check-python-") as workdir:
            selected = Path(workdir, "requirements.txt")
            selected.write_text("".join(f"{n}=={v}\n" for n, v in lookup.items()))
            report, errors = run_pip(
                pip,
                [
                    "--no-deps",
                    "--ignore-requires-python",  # pip would test its own Python's
                    "--only-binary=:all:",  # a missing wheel is named, not built
                    "--no-binary=" + ",".join(sorted(SDIST_ONLY)),
                    "--python-version",
                    full,
                    "--target",
                    str(Path(workdir, "t")),
                    "-r",
                    str(selected),
                ],
                workdir,
            )
        if report is None:
            return errors
        items += report["install"]
        source += f" + {len(lookup)} looked up by pip" if base else ""
    problems = check_report({"install": items}, pinned, env)
    if problems:
        return problems
    return [], f"{len(items)} pins checked for Python {full} (no interpreter; {source})"


def outcome(job):
    """A job's result; an exception counts as a failure of that Python."""
    try:
        return job.result()
    except Exception as exc:
        return [f"{type(exc).__name__}: {exc}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("requirements", nargs="?", default=str(ROOT / "requirements.txt"))
    parser.add_argument(
        "--install",
        choices=("auto", "always", "never"),
        default="auto",
        help="install into a throwaway venv per interpreter: auto = once per requirements.txt",
    )
    parser.add_argument("--python", action="append", default=[], help="also check this one")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    started = time.monotonic()
    requirements = Path(args.requirements).resolve()
    pins = read_pins(requirements)
    interpreters = find_interpreters(args.python)
    emulated = sorted(set(PROMISED) - set(interpreters), key=version_key)
    log(
        f"{requirements.name} on Python {MIN_PY[0]}.{MIN_PY[1]} to {MAX_PY[0]}.{MAX_PY[1]}: "
        f"interpreters {', '.join(sorted(interpreters)) or 'none'}; "
        f"without interpreter: {', '.join(emulated)}"
    )
    stamp_dir = ROOT / ".local" / "check-python"
    results = {}
    with (
        tempfile.TemporaryDirectory(prefix="sqs-check-python-") as workdir,
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
    ):
        resolving = {
            full: pool.submit(resolve_real, python, requirements, pins)
            for full, python in interpreters.items()
        }
        driver = pip_command(sys.executable, workdir) if emulated else None
        emulating = {}
        for full in emulated:
            minor = full.rsplit(".", 1)[0]
            same = [resolving[v] for v in sorted(interpreters) if v.rsplit(".", 1)[0] == minor]
            base = same[0].result() if same else None
            base = base[2] if isinstance(base, tuple) else None
            emulating[full] = pool.submit(check_emulated, full, requirements, pins, driver, base)
        installing = {}
        for full, python in interpreters.items():
            result = outcome(resolving[full])
            if isinstance(result, tuple) and args.install != "never":
                installing[full] = pool.submit(
                    install_real, full, python, requirements, args.install, stamp_dir
                )
            results[full] = result
        for full, job in installing.items():
            result = outcome(job)
            results[full] = (
                ([], f"{results[full][1]}; {result[1]}") if isinstance(result, tuple) else result
            )
        results.update({full: outcome(job) for full, job in emulating.items()})
    failed = []
    for full in sorted(results, key=version_key):
        label = f"{full} ({PROMISED[full]})" if full in PROMISED else full
        result = results[full]
        if isinstance(result, tuple):
            log(f"  ok      {label}: {result[1]}")
            continue
        failed.append(label)
        log(f"  FAILED  {label}:")
        for line in result:
            log(f"            {line}")
    elapsed = time.monotonic() - started
    if failed:
        log(
            f"ERROR: {requirements.name} does not resolve/install on Python {', '.join(failed)}. "
            "Pin a version that supports it with an environment marker "
            '(e.g. `pkg==1.2; python_version < "3.11"`), then run `make check-python`.'
        )
        return 1
    log(f"all {len(results)} Pythons ok in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
