"""Example interface file: what an investigator agent may do with a model.

Served with `seer serve expose interface.py` (inside the sandbox the run
file declares).  Uses only the standard library so it runs anywhere; a real
interface file would load torch models at module level, e.g.
    model = AutoModelForCausalLM.from_pretrained(get_model_path("acme/organism-3"))
"""
import json
import os
from typing import List


def _config(name: str) -> dict:
    with open(os.path.join(get_model_path(name), "config.json")) as f:
        return json.load(f)


@expose
def model_card(model: str) -> dict:
    """Returns the model's config (architecture, layer count, ...).

    Args:
        model: the model's name as listed in the run file
    """
    return _config(model)


@expose
def count_tokens(texts: List[str]) -> List[int]:
    """Counts whitespace-separated tokens in each text (a stand-in for a tokenizer)."""
    return [len(t.split()) for t in texts]
