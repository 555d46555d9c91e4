"""The parts of :mod:`books_async.bulk` that stand on their own.

``results`` (what a job reports), ``create`` (the bulk-create job), ``sizing`` (body limits), ``outcomes``
(what a failure says about the API's state) and ``readback`` (resolving sends and payments).
"""
