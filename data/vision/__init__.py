"""``kiln.data.vision`` (``gluon.data.vision``): image transforms and local-file datasets."""
