"""Export the canonical models as JSON Schema files (committed under ``schemas/``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from empathy_bridge import schemas

__all__ = ["EXPORTED_MODELS", "export_schemas", "render_schemas"]

#: Models whose JSON Schema is part of the public contract.
EXPORTED_MODELS: tuple[type[BaseModel], ...] = (
    schemas.Interaction,
    schemas.Party,
    schemas.Conversation,
    schemas.EmotionalContext,
    schemas.Cue,
    schemas.Trajectory,
    schemas.PriorityDecision,
    schemas.RoutingDecision,
    schemas.HandoffDecision,
    schemas.ReplySuggestion,
    schemas.FieldUpdate,
    schemas.WriteResult,
    schemas.EmpathyMetric,
)


def render_schemas() -> dict[str, str]:
    """File name -> JSON text of every exported model's schema."""
    out = {}
    for model in EXPORTED_MODELS:
        schema = model.model_json_schema()
        schema["$id"] = (
            f"https://empathy-bridge.dev/schemas/{schemas.SCHEMA_VERSION}/{model.__name__}.json"
        )
        schema["x-schema-version"] = schemas.SCHEMA_VERSION
        out[f"{model.__name__}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def export_schemas(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
