"""Map the top-level folders into one `roomwire` namespace (issue: no generic top-level names in site-packages).

pyproject.toml holds all metadata; this file only computes `packages`/`package_dir`, because setuptools'
declarative `packages.find` cannot add a prefix to the folders it finds.
"""

from setuptools import find_namespace_packages, setup  # type: ignore[import-untyped,unused-ignore]  # some releases ship no types

FOLDERS = {
    "cli": "roomwire",
    "spec": "roomwire.spec",
    "gemini_double": "roomwire.gemini_double",
    "reference": "roomwire.reference",
    "conformance": "roomwire.conformance",
    "loadtest": "roomwire.loadtest",
    "fixtures": "roomwire.fixtures",
    "targets": "roomwire.targets",
    "attacks": "roomwire.attacks",
}

#: Folders inside those that are not part of the distribution. Data folders (schemas, fixtures, static files)
#: are included as namespace packages, which is how setuptools ships package data in subfolders.
EXCLUDED = ["tests", "tests.*", "*.__pycache__", "__pycache__"]


def layout() -> tuple[list[str], dict[str, str]]:
    """The packages to install and the folder each comes from."""
    package_dir: dict[str, str] = {}
    packages: list[str] = []
    for folder, name in FOLDERS.items():
        package_dir[name] = folder
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=EXCLUDED)]
    return packages, package_dir


if __name__ == "__main__":  # setuptools runs this file as __main__; tools/typecheck.py imports FOLDERS only
    packages, package_dir = layout()
    setup(packages=packages, package_dir=package_dir)
