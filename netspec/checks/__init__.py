"""Rules checked on a whole spec once its graphs are built, run by ``netspec.check`` (so by
``netspec validate``): plain Python, no torch. A section whose runtime lives higher up (the tune
search) keeps its document rules here, below ``check``, so that check never calls up into it.

* ``tune``  the ``tune:`` section: the objective, the search space's paths, every corner of it
"""
