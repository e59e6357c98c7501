"""Export for TF Serving (SavedModel) and phones (TFLite / LiteRT), and its verification: the
mechanics; what a kind of model exports comes from its task (ganzoo/tasks/). Names resolve on
first use (PEP 562): the signature and gate helpers below are imported by the tasks themselves."""

from __future__ import annotations

from ganzoo.lazy import lazy_getattr

_PUBLIC = {
    "TFLITE_MODES": "ganzoo.export.tflite",
    "export_saved_model": "ganzoo.export.saved_model",
    "format_checks": "ganzoo.export.verify",
    "update_models_config": "ganzoo.export.serving",
    "verify_export": "ganzoo.export.verify",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_getattr(__name__, _PUBLIC)
