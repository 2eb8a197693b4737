import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # pytest -n 2 on 2 cores: no oversubscription
import sys

sys.path.insert(0, os.path.dirname(__file__))
