"""``python -m books_async.cli``: the ``books-async`` command line."""

from books_async.cli import main

raise SystemExit(main())
