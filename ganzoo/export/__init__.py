"""Export for TF Serving (SavedModel) and phones (TFLite / LiteRT), and its verification."""

from __future__ import annotations

import shutil
from pathlib import Path

from ganzoo.export.saved_model import export_saved_model
from ganzoo.export.serving import update_models_config
from ganzoo.export.tflite import TFLITE_MODES, parse_modes
from ganzoo.export.verify import format_checks, verify_export


def export_model(source: str | Path, base: str | Path = "saved_models", name: str | None = None,
                 tflite: str | None = None) -> Path:
    """A run directory or `.keras` file -> saved_models/<name>/<version>/ (+ TFLite), and its
    entry in saved_models/models.config. Returns the version directory."""
    from ganzoo.training import load_trained_model

    modes = parse_modes(tflite) if tflite else []
    model = load_trained_model(source)
    name = name or model.registry_name
    version_dir = export_saved_model(model, base, name, modes)
    card = Path(source) / "MODEL_CARD.md"
    if card.is_file():  # beside the SavedModel; TF Serving ignores files it does not know
        shutil.copyfile(card, version_dir / card.name)
    update_models_config(Path(base), name)
    return version_dir


__all__ = ["TFLITE_MODES", "export_model", "export_saved_model", "format_checks", "update_models_config", "verify_export"]
