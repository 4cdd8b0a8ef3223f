"""The OpenAPI document, made to say exactly what the server accepts and answers.

FastAPI derives a first draft from the routes and the pydantic models; this package adds what
the registries know and a model cannot say by itself: the names of surfaces, optimizers,
schedules and export formats as enums, each optimizer's hyperparameters with their domains,
each surface's parameters with their ranges, the limits from the settings, the error
responses with their shape, and the real media types of non-JSON answers. Constraints that
JSON Schema cannot express (a formula's grammar, ``x0 < x1``) are named in ``x-gradscape-rules``
and in the field's description; ``docs/openapi.md`` says how a route author keeps this true.
"""

from server.apischema.document import install

__all__ = ["install"]
