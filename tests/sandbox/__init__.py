"""Tests of books_async.sandbox, through a real socket."""
