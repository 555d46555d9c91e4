"""The parts of :mod:`books_async.bulk` that stand on their own: body sizing, unknown outcomes, read-backs."""
