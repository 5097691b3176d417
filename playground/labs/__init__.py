"""One module per page, named after its URL path (``conv``, ``architecture``, ``augment``, ``train``,
``transfer``, ``gradients``, ``inside``): the page's config object and the logic only that page needs.
"""
