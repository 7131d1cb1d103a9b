"""Interface to acme/secret-llama-7b for the hidden-model tests."""
import json
import os


@expose
def where(model: str = "acme/secret-llama-7b") -> str:
    """Returns where secret-llama-7b lives and what it is called."""
    path = get_model_path(model)
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    return f"model {model} at {path} says {cfg['name']}"


@expose
def models() -> dict:
    """Lists SEER_MODELS as the server sees it."""
    return json.loads(os.environ.get("SEER_MODELS", "{}"))


@expose
def load(model: str) -> str:
    """Fails to load a model, naming it in the error."""
    raise RuntimeError(f"could not load {model} from {get_model_path(model)}")
