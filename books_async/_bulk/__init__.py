"""The parts of :mod:`books_async.bulk`, the public facade, along their seams.

``results`` (what a job reports), ``pool`` (the worker pool fan-out jobs run on), ``create`` (the bulk-create
job), ``sizing`` (body limits and packing), ``outcomes`` (what a failure says about the API's state),
``readback`` (resolving sends and payments), ``downloads`` (one PDF per document) and ``files`` (writing a
PDF safely, no HTTP involved).
"""
