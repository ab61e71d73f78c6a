"""The ``sharefab`` command line: tokens, the local stack, and (later) solver and operator tools."""
