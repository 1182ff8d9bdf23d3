"""Print (or, with --write, put into docs/configuration.md) the table of every setting.

    .venv/bin/python scripts/settings_table.py [--write]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blockscope.config import Settings  # noqa: E402

DOC = ROOT / "docs" / "configuration.md"
MARKER = "<!-- settings-table -->"


def table() -> str:
    prefix = Settings.model_config["env_prefix"]
    lines = ["| environment variable | default | what it sets |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = f"{default:,}" if isinstance(default, int) and not isinstance(default, bool) else str(default)
        lines.append(f"| `{prefix}{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(lines) + "\n"


def document() -> str:
    """docs/configuration.md with the table after its marker (whatever followed the marker replaced)."""
    head = DOC.read_text().split(MARKER, 1)[0]
    return f"{head}{MARKER}\n{table()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite docs/configuration.md")
    if parser.parse_args().write:
        DOC.write_text(document())
    else:
        print(table(), end="")


if __name__ == "__main__":
    main()
