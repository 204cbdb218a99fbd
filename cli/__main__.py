"""`python -m roomwire` is the `roomwire` command."""

from roomwire.cli import main

raise SystemExit(main())
