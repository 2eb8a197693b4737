"""placeholder"""


def import_model(path):
    raise NotImplementedError
