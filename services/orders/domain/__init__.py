"""Orders domain: dataclasses, validation rules and state machines (standard library only)."""
