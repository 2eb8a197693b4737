"""The name lookup every model family's ``get_model`` shares."""


def build(models, name, **kwargs):
    """``models[name.lower()](**kwargs)``; an unknown name raises ValueError listing the names
    ``models`` (``{name: constructor}``) knows, with MXNet's message."""
    key = name.lower()
    if key not in models:
        raise ValueError("Model %s is not supported. Available options are\n\t%s" % (
            name, "\n\t".join(sorted(models))))
    return models[key](**kwargs)
