"""Policy sets: the written policies a run classifies against, loaded from files.

A policy file is markdown with a flat front matter (``key: value`` lines between
``---`` fences; ``category`` required, ``title``, ``verbosity`` and ``output``
optional) and a body.  The shipped set lives in ``policies/<category>/<verbosity>.md``;
a user's own set is a folder of ``<category>.md`` files (or ``<category>/<verbosity>.md``
with the verbosity named as ``DIR@verbose``).  The taxonomy is data: categories are
whatever the files name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import PolicyError
from .resources import shipped

VERBOSITIES = ("minimal", "medium", "verbose")
#: Shipped categories in the order the seed used them.
SHIPPED_ORDER = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")


@dataclass(frozen=True, slots=True)
class Policy:
    category: str
    title: str
    body: str
    path: str
    verbosity: str | None = None
    output: str | None = None


@dataclass(frozen=True, slots=True)
class PolicySet:
    """An ordered set of policies, one per category, with a content hash."""

    name: str
    policies: tuple[Policy, ...]
    digest: str

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(p.category for p in self.policies)

    def get(self, category: str) -> Policy:
        for policy in self.policies:
            if policy.category == category:
                return policy
        raise KeyError(category)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A parsed ``--policies`` value: the shipped set of one verbosity, or a folder.

    ``folder`` is ``None`` for the shipped set; ``verbosity`` is ``None`` for a flat folder
    of ``<category>.md`` files.  The verbosity is always one of :data:`VERBOSITIES`, so no
    part of a spec can name a file outside its folder.
    """

    folder: Path | None
    verbosity: str | None

    def __str__(self) -> str:
        if self.folder is None:
            return str(self.verbosity)
        return f"{self.folder}@{self.verbosity}" if self.verbosity else str(self.folder)


def parse_policy_spec(spec: str) -> PolicySpec:
    """``minimal|medium|verbose``, ``DIR`` or ``DIR@VERBOSITY``, without touching the disk.

    The text after the *last* ``@`` is a verbosity only if it is one of the three names;
    otherwise the whole text is the folder (a folder name may contain ``@``).  The one
    parser used by the loader and by the service's path confinement, so both always agree
    on which folder a spec names.
    """
    if spec in VERBOSITIES:
        return PolicySpec(None, spec)
    folder, sep, verbosity = spec.rpartition("@")
    if sep and verbosity in VERBOSITIES and folder:
        return PolicySpec(Path(folder), verbosity)
    return PolicySpec(Path(spec), None)


def load_policy_set(spec: str) -> PolicySet:
    """Load ``minimal|medium|verbose`` (shipped) or a folder, ``DIR`` or ``DIR@verbosity``."""
    parsed = parse_policy_spec(spec)
    if parsed.folder is None:
        root = shipped("policies")
        files = [root / cat / f"{parsed.verbosity}.md" for cat in SHIPPED_ORDER]
        for path in files:
            if not path.is_file():
                raise PolicyError(path, "missing policy file")
        return _build(spec, [_read_policy(p) for p in files])

    root = parsed.folder
    if not root.is_dir():
        raise PolicyError(root, "no such policy folder (and not one of minimal, medium, verbose)")
    if parsed.verbosity:
        paths = sorted(
            p / f"{parsed.verbosity}.md" for p in root.iterdir() if _is_category_folder(p)
        )
        for path in paths:
            if not path.is_file():
                raise PolicyError(path, "missing policy file")
    else:
        paths = sorted(p for p in root.glob("*.md") if p.name.lower() != "readme.md")
    if not paths:
        raise PolicyError(root, "no policy files (*.md) in this folder")
    policies = [_read_policy(p) for p in paths]
    order = {c: i for i, c in enumerate(SHIPPED_ORDER)}
    policies.sort(key=lambda p: (order.get(p.category, len(order)), p.category))
    return _build(spec, policies)


#: Subfolders of a policy folder that hold prompt data, not a category (the shipped layout).
NOT_CATEGORIES = frozenset({"templates", "formats"})


def _is_category_folder(path: Path) -> bool:
    return path.is_dir() and path.name not in NOT_CATEGORIES and path.name[:1] not in "._"


def _build(name: str, policies: list[Policy]) -> PolicySet:
    seen: dict[str, str] = {}
    for policy in policies:
        if policy.category in seen:
            raise PolicyError(
                policy.path,
                f"category {policy.category!r} already defined in {seen[policy.category]}",
            )
        seen[policy.category] = policy.path
    digest = hashlib.sha256()
    for policy in policies:
        digest.update(f"{policy.category}\0{policy.title}\0{policy.body}\0".encode())
    return PolicySet(name=name, policies=tuple(policies), digest=digest.hexdigest()[:16])


def _read_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PolicyError(path, "missing policy file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(path, f"cannot read: {exc}") from exc
    meta, body = _split_front_matter(path, text)
    category = meta.get("category") or path.stem
    if not category.replace("_", "").replace("-", "").isalnum():
        raise PolicyError(path, f"front matter: category: {category!r} is not a simple identifier")
    if not body.strip():
        raise PolicyError(path, "the policy body is empty")
    return Policy(
        category=category,
        title=meta.get("title") or category.replace("_", " ").capitalize(),
        body=body.strip(),
        path=str(path),
        verbosity=meta.get("verbosity"),
        output=meta.get("output"),
    )


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines()
    meta: dict[str, str] = {}
    for index, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return meta, "\n".join(lines[index:])
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PolicyError(path, f"line {index}: front matter: expected `key: value`")
        meta[key.strip()] = value.strip().strip("\"'")
    raise PolicyError(path, "front matter: no closing `---`")
